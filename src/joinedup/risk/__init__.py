"""Risk: comorbidity and frailty scores from coded diagnoses (and, later, risk models)."""

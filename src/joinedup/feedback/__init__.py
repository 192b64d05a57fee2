"""Patient voice: themes in free-text feedback and the rules for showing comments."""

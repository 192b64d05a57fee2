// Starts the NHS.UK frontend components (skip link, header, error summary, ...).
// Loaded as a module from this app only: no inline script, no CDN.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

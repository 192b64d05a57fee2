"""Who may see what: roles and the route matrix (:mod:`~joinedup.access.roles`), users,
sessions and API tokens (:mod:`~joinedup.access.accounts`) and the audit log of every
identifiable record read (:mod:`~joinedup.access.audit`).

No web framework here: the web app's sign-in and permission checks
(``joinedup.web.security``) and the command line (``joinedup users``) both call these.
"""

"""Documents customers see: reminder e-mails from templates (and, later, statement PDFs)."""

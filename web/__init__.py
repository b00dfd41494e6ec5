"""Front ends over the core: the `kb` command line (and, later, the HTTP service and page)."""

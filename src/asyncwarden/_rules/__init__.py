"""Rules: the catalog of findings and the checks that produce them."""

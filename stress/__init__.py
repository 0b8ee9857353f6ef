"""`make stress`: a two-server deployment on loopback under load and faults (see __main__.py)."""

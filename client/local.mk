# client: see the top-level Makefile.am

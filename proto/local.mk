# proto: see the top-level Makefile.am

# lib: see the top-level Makefile.am

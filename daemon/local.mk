# daemon: see the top-level Makefile.am

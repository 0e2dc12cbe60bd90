# systemd: see the top-level Makefile.am

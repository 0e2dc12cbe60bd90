/*
 * coopctl-main.c - main() of coopctl.  Everything else lives in coopctl.c
 * and the cmd-*.c files so the unit tests can link them without a main.
 */
#include "config.h"

#include "coopctl.h"

int main(int argc, char **argv)
{
	return coopctl_main(argc, argv);
}

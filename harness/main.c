/* main.c - the kvbench executable: everything is in kvharness; this only hands argv over. */
#include "cli.h"

int main(int argc, char **argv)
{
    return kvb_cli_main(argc, argv);
}

/* cli.h - kvbench's command line: subcommands, options, usage text. */
#ifndef KVB_CLI_H
#define KVB_CLI_H

/* Run kvbench with argv; returns the process exit code (KVB_EXIT_*). */
int kvb_cli_main(int argc, char **argv);

#endif

/* keys_cmd.h - `kvbench keys`: write a key set as a SOSD file and print its hardness. */
#ifndef KVB_KEYS_CMD_H
#define KVB_KEYS_CMD_H

extern const char kvb_keys_usage[];
/* argv[0] is "keys"; returns a KVB_EXIT_* code. */
int kvb_keys_main(int argc, char **argv);

#endif

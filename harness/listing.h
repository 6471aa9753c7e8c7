/* listing.h - `kvbench list`: engines with versions, capabilities and options; workloads with mixes. */
#ifndef KVB_LISTING_H
#define KVB_LISTING_H

#include <stdio.h>

/* Print the listing; returns KVB_EXIT_OK (an engine failing its table check is listed as broken). */
int kvb_list(FILE *out);

#endif

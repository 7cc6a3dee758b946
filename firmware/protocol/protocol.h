/* The DUT side of the EEMBC / MLPerf Tiny serial protocol. */
#ifndef TP_PROTOCOL_H
#define TP_PROTOCOL_H

/* Prints the boot lines, ending with the first "m-ready". */
void protocol_boot(void);

/* Feeds one received byte; a '%' runs the command collected so far. */
void protocol_feed(char c);

#endif

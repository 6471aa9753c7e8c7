/* dump_format.h - the two formats of `alexstorage dump` that `alexstorage load` reads back.
 *
 * text:   a first line "# alexstorage dump v1", then one line per record: decimal key, a tab, the
 *         value as lowercase hex (empty for an empty value), a newline. Keys ascending.
 * binary: the 8 bytes "ASDUMP1\n", then per record: int64 key, uint32 value length (both
 *         little-endian), the value bytes. Keys ascending.
 */
#ifndef AS_DUMP_FORMAT_H
#define AS_DUMP_FORMAT_H

#define DUMP_TEXT_HEADER "# alexstorage dump v1\n"
#define DUMP_BIN_MAGIC "ASDUMP1\n"
#define DUMP_BIN_MAGIC_BYTES 8

#endif

/* fileio.h — opening input files safely: a .ein file, an import, a data
 * file.  Only regular files are read: a FIFO would block forever (no
 * writer), a directory or a device is never what was meant.  The open does
 * not block (O_NONBLOCK, cleared once the file is known to be regular). */
#ifndef EIN_FILEIO_H
#define EIN_FILEIO_H

/* Open `path` read-only (close-on-exec).  Returns the descriptor, or -1:
 * with errno set when it cannot be opened, or with errno 0 and *kind set to
 * what it is instead ("a FIFO", "a directory", "a device", "a socket") when
 * it is not a regular file.  The caller closes the descriptor. */
int ein_open_regular(const char *path, const char **kind);

#endif

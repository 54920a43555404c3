// Package idtable is a hash table of pointers to objects that carry their
// own string key (an Engine.IO session and its id, a socket and its id),
// for the registries that hold one entry per connection.
//
// A Go map[string]*T keeps the key's string header beside the pointer and
// runs at most 7/8 full: about 44 bytes per entry at 10,000 entries. A
// Table keeps only the pointer, in an open-addressed array (linear probing,
// backward-shift deletion, grown at 3/4 full, shrunk below 1/8): about 14
// bytes per entry, for one call to the key function per probe.
//
// It owns only that data structure: no locking (callers shard and lock),
// no knowledge of what it stores. It imports nothing from this project.
package idtable

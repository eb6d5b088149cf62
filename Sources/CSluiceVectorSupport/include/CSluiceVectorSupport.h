// Helpers Swift has no spelling for, used by the vector index's hot loops. Header-only: every function is
// `static inline`, so the Clang importer compiles it into the calling Swift module, where LLVM inlines it.
#ifndef C_SLUICE_VECTOR_SUPPORT_H
#define C_SLUICE_VECTOR_SUPPORT_H

/// Asks the CPU to start loading the cache line holding `address` (for reading, keep in all cache levels).
/// A hint only: it never faults, whatever the address.
static inline void sluice_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif

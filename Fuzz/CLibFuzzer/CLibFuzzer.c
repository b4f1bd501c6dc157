// A header-only module: the declaration of libFuzzer's driver (see include/CLibFuzzer.h).

// The thin `ssdd` executable: everything is in the library.
#include "ssdd/cli/commands.h"

int main(int argc, char** argv) { return ssdd::cli::run(argc, argv); }

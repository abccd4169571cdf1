// Structural checks of a torch.save archive (a zip of stored records, one of them a pickle),
// run before LibTorch reads it. LibTorch believes the sizes an archive declares and
// allocates them before reading: a zip64 record claiming 10^12 bytes, or a pickle string
// claiming 1.5 GB, is an allocation of that size (both found by fuzz_checkpoint and
// fuzz_distilled_set). These checks refuse any size larger than the bytes that could hold
// it, so nothing is allocated for a hostile header; and LibTorch's unpickler pops its stack
// unchecked, so the pickle's stack is followed before it runs.
#pragma once
#include <string>
#include <string_view>

namespace ssdd::io {

// The zip layout as LibTorch's reader (miniz) will see it: the end records, and each entry
// of the central directory stored uncompressed, with its data inside the archive.
// DataError naming `source` otherwise.
void check_zip_layout(std::string_view bytes, const std::string& source);

// A pickle stream (protocols 0-5), walked opcode by opcode: every opcode is known, every
// argument fits in what is left of the stream, memo ids are no larger than the stream, no
// opcode takes more values than the stack holds above its top mark (or needs a mark that
// is not there), and it ends with STOP. DataError otherwise.
void check_pickle(std::string_view pickle, const std::string& source);

}  // namespace ssdd::io

// Advisory locks (flock) that keep two ssdd processes from writing one folder at once
// (issue 27): a run folder, a stage folder, a cache entry. The lock file `.ssdd.lock`
// inside the folder holds the pid of its holder, so a refusal can name it. The kernel
// drops the lock when its holder exits, however it exits, so a killed run never leaves a
// stale lock behind.
#pragma once
#include <string>

namespace ssdd::io {

inline constexpr const char* kLockFile = ".ssdd.lock";

class FolderLock {
 public:
  enum class IfHeld {
    refuse,  // throw IoError naming the holder's pid (run and stage folders)
    wait,    // say so on stderr and wait for the holder (shared cache entries)
  };
  // Creates `dir` when missing. Re-entrant within a process: a folder this process already
  // holds is not locked twice (a run holds its teacher's cache folder while the teacher
  // stage locks it again).
  FolderLock(const std::string& dir, IfHeld if_held);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  std::string key_;  // the folder's resolved path
};

}  // namespace ssdd::io

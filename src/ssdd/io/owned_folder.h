// ssdd writes only into folders it made, and clears only folders it marked (issue 27).
//
// A folder is ssdd's once it holds the marker file `.ssdd` (a line of JSON saying what
// made it and when). ssdd marks a folder when it creates it, or when it finds it empty;
// a non-empty folder without the marker is the user's, and is refused unless the user
// says otherwise (`--force`, which marks it). Clearing a stage removes the contents of a
// marked folder that lies strictly inside the folder that owns it, and nothing else.
#pragma once
#include <string>

namespace ssdd::io {

inline constexpr const char* kMarkerFile = ".ssdd";

// Makes `dir` ssdd's: creates and marks it when missing or empty, accepts it when marked,
// and marks it anyway when `force`. Otherwise throws IoError naming the folder and the way
// out. `what` names the folder's kind in the marker ("run", "distill", "teacher", ...).
void claim_folder(const std::string& dir, const std::string& what, bool force = false);

// Marks a folder that an earlier ssdd made before markers existed (the caller has checked
// that it is one: a stage.json, a run.json, a teacher.json of ssdd's form).
void adopt_folder(const std::string& dir, const std::string& what);

bool is_claimed(const std::string& dir);

// Removes every entry of `dir` but the marker and the lock file. Refuses (IoError) unless
// `dir` is marked and lies strictly inside `owner` once both are resolved (symbolic links
// and `..` included), so a label or a link can never turn a clear on the wrong folder.
void clear_claimed_folder(const std::string& dir, const std::string& owner);

// True for names usable as one path component of a run folder: a letter or digit, then
// letters, digits, '.', '_' or '-' (so never "", "." or ".."), at most 64 characters.
bool is_plain_name(const std::string& name);
// Throws ConfigError(where, ...) when `name` is not plain.
void check_plain_name(const std::string& name, const std::string& where);

}  // namespace ssdd::io

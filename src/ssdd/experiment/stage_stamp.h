// Stage stamps: a stage's folder holds stage.json {stage, hash, status, seconds}, written
// atomically when the stage starts ("running") and when it ends ("done"). The hash covers
// the stage's settings and the hashes of the stages it reads, so a rerun can tell:
//   skip     done, same hash: the outputs are current;
//   resume   started with the same hash but not done (killed): continue from checkpoints;
//   restart  made with other settings (or upstream changed): clear the folder, run anew.
#pragma once
#include <string>

namespace ssdd::experiment {

enum class StageAction { skip, resume, restart };

struct StageStamp {
  std::string stage, hash, status;  // status: running | done
  double seconds = 0;               // wall time of the run that finished it
};

// What to do with `dir` for a stage of this `hash` (a missing folder or stamp: resume,
// which for a fresh folder is a plain start); the second form decides from a stamp read
// already.
StageAction plan_stage(const std::string& dir, const std::string& hash);
StageAction plan_stage(const StageStamp& stamp, const std::string& hash);
StageStamp read_stamp(const std::string& dir);  // status "" when there is none

// Writes the stamp, marking the folder as ssdd's (io/owned_folder.h): a folder of the
// user's in the stage's place is refused, not written into.
void write_stamp(const std::string& dir, const StageStamp& stamp);

// Empties `dir` of a stage's previous outputs. Refuses a folder that holds no stage.json,
// carries no ssdd marker, or does not lie strictly inside `owner` (the run folder, or the
// teacher cache), so no label, link or path can turn a clear on the user's files.
void clear_stage(const std::string& dir, const std::string& owner);

}  // namespace ssdd::experiment

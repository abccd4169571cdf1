#include "ssdd/train/loop.h"

#include <algorithm>
#include <iostream>

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/stop.h"

namespace ssdd::train {

Loop::Loop(LoopOptions options, LoopHooks hooks) : options_(std::move(options)), hooks_(std::move(hooks)) {
  if (options_.progress_label.empty()) options_.progress_label = options_.stage;
  if (checkpoints() && (!hooks_.save || !hooks_.restore))
    throw Error(options_.stage + ": checkpoints need the save and restore hooks");
}

void Loop::refuse_other_run(const Checkpoint& c) const {
  for (const auto& [key, expected] : options_.identity.items()) {
    const auto found = c.meta.find(key);
    if (found == c.meta.end()) {
      const auto& later = options_.identity_added_later;
      if (std::find(later.begin(), later.end(), key) != later.end()) continue;
    } else if (*found == expected) {
      continue;
    }
    throw ConfigError(options_.checkpoint_dir,
                      "the checkpoint belongs to another run (its " + key + " is " +
                          (found == c.meta.end() ? std::string("missing") : found->dump()) + ", this run's " +
                          expected.dump() + "); use a new output folder");
  }
}

int64_t Loop::start() {
  int64_t first_step = 0;
  if (checkpoints() && options_.resume) {
    std::string note;
    if (auto c = load_checkpoint(options_.checkpoint_dir, &note)) {
      refuse_other_run(*c);
      first_step = hooks_.restore(*c);
      resumed_ = true;
      say(options_.stage + ": " + note + " at step " + std::to_string(first_step) + " of " +
          std::to_string(options_.total_steps));
    }
  }
  if (!resumed_ && hooks_.fresh_start) hooks_.fresh_start();
  next_read_step_ = first_step;
  progress_.emplace(options_.progress_label, options_.total_steps, options_.unit, first_step);
  if (options_.log) progress_->set_log(options_.log);
  progress_->set_terminal(on_terminal());
  if (options_.quiet) progress_->set_silent_for(kQuietRunSeconds);
  return first_step;
}

bool Loop::on_terminal() const { return !options_.group || options_.group->rank() == 0; }

void Loop::say(const std::string& line) const {
  if (!options_.quiet && on_terminal()) std::cerr << line << "\n" << std::flush;
  if (options_.log) options_.log(line);
}

void Loop::read_pending() {
  if (pending_.empty()) return;
  // One transfer per scalar position over all kept steps: a GPU syncs once here, not per step.
  const size_t width = pending_.front().size();
  std::vector<at::Tensor> columns;
  for (size_t k = 0; k < width; ++k) {
    std::vector<at::Tensor> column;
    for (const auto& step : pending_) column.push_back(step.at(k));
    columns.push_back(torch::stack(column).to(torch::kCPU, torch::kDouble).contiguous());
  }
  const int64_t steps = static_cast<int64_t>(pending_.size());
  pending_.clear();
  std::vector<double> values(width);
  for (int64_t i = 0; i < steps; ++i) {
    for (size_t k = 0; k < width; ++k) values[k] = columns[k].data_ptr<double>()[i];
    if (hooks_.on_read) hooks_.on_read(next_read_step_, values);
    ++next_read_step_;
  }
}

void Loop::after_step(int64_t steps_done, std::vector<at::Tensor> scalars, double items,
                      const std::function<std::string()>& fields, bool may_stop) {
  if (!progress_) throw Error(options_.stage + ": Loop::start() was not called");
  if (!scalars.empty()) {
    for (auto& s : scalars) s = s.detach();  // a value, not the graph behind it
    if (!pending_.empty() && pending_.front().size() != scalars.size())
      throw Error(options_.stage + ": every step must record the same number of scalars");
    pending_.push_back(std::move(scalars));
  }
  progress_->update(steps_done, [&] {
    read_pending();
    return fields ? fields() : std::string();
  }, items);
  const bool unfinished = steps_done < options_.total_steps;
  const bool due = options_.checkpoint_every > 0 && steps_done % options_.checkpoint_every == 0 && unfinished;
  const int stop = may_stop && unfinished ? agreed_stop_signal() : 0;
  if (due || stop) checkpoint(steps_done);
  if (stop) throw Stopped(stop, options_.stage, steps_done);
}

int Loop::agreed_stop_signal() const {
  const int here = stop_requested() ? std::max(stop_signal(), 1) : 0;
  if (!options_.group) return here;
  // Every rank's, in one small all-gather: the first rank's signal stops them all here.
  const at::Tensor signals = options_.group->all_gather(torch::tensor({here}, torch::kLong));
  for (int64_t r = 0; r < signals.numel(); ++r)
    if (const int64_t s = signals[r].item<int64_t>()) return static_cast<int>(s);
  return 0;
}

void Loop::checkpoint(int64_t steps_done) {
  read_pending();
  if (!checkpoints()) return;
  Checkpoint c = hooks_.save(steps_done);  // on every rank: it may gather
  if (options_.group && options_.group->rank() != 0) return;
  for (const auto& [key, value] : options_.identity.items()) c.meta[key] = value;
  save_checkpoint(options_.checkpoint_dir, c);
}

void Loop::stop_if_requested(int64_t steps_done) {
  const int stop = agreed_stop_signal();
  if (!stop) return;
  checkpoint(steps_done);
  throw Stopped(stop, options_.stage, steps_done);
}

void Loop::finish(const std::string& fields) {
  read_pending();
  if (progress_) progress_->finish(fields);
}

}  // namespace ssdd::train

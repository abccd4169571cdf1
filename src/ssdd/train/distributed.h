// Multi-process runs (issue 26): the world a process belongs to, read from the variables that
// torchrun, `ssdd launch` and SLURM set, and the c10d process group it joins (Gloo on the CPU,
// NCCL on CUDA where LibTorch has it). Without those variables a run is one process and
// nothing here is touched. The collectives live in train/ because the one training loop owns
// them; the stages only say what is sharded and what is reduced.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

namespace ssdd::train {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::string master_addr;  // the TCP store's host (rank 0 serves it)
  int master_port = 0;
  std::string launcher;     // "torchrun" (RANK, WORLD_SIZE: also `ssdd launch`), "slurm", or "" (one process)

  bool distributed() const { return size > 1; }
};

// torchrun's RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT, or SLURM's
// SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID with MASTER_ADDR / MASTER_PORT exported by the
// job script. ConfigError naming the variable, what was expected and what was found.
World world_from_environment();

// "gloo", "nccl", or "" for the device's default (NCCL on CUDA, Gloo otherwise).
std::string resolve_backend(const std::string& backend, c10::Device device);

// The process group of one run. Every call is collective: each rank makes the same calls in
// the same order. A peer that dies or stalls makes the call throw ssdd::Error within
// `timeout`, naming this rank and the operation, so the job stops instead of hanging.
class ProcessGroup {
 public:
  ProcessGroup(const World& world, const std::string& backend, c10::Device device, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  const std::string& backend() const;
  // Wall time this process has spent in the collectives so far (waits for slower ranks included).
  double seconds_in_collectives() const;

  // In place, on every rank; the tensors (any shapes, one dtype and device) in one collective.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  void all_reduce_mean(std::vector<at::Tensor>& tensors);
  // Every rank's `tensor` (the same shape on each) concatenated along dimension 0, rank-major.
  at::Tensor all_gather(const at::Tensor& tensor);
  // In place: rank `root`'s values on every rank.
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  // Rank `root`'s bytes (a serialised state) on every rank; the others' `bytes` are ignored.
  std::string broadcast_bytes(const std::string& bytes, int root);
  void barrier();

  // Beside the collectives, the job's key-value store (rank 0 serves it): work handed out
  // as it is asked for, and waits that tolerate a busy peer.
  // A name for the keys of one use, the same on every rank for its n-th call (made in step,
  // like a collective).
  std::string fresh_key(const std::string& what);
  // Adds `delta` to the store's counter `key` (from 0), atomically across ranks; returns the
  // new value (delta 0: reads it).
  int64_t add(const std::string& key, int64_t delta);
  // Returns once every rank has called it with the same `name`, however long their work
  // takes, as long as the counter `progress_key` (which the ranks advance as they work)
  // moves within every timeout. Otherwise throws ssdd::Error naming the ranks not arrived.
  // A SIGINT/SIGTERM (core/stop.h) ends the wait with Stopped, naming `stage`.
  void wait_for_all(const std::string& name, const std::string& progress_key, const std::string& stage);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The optimiser's defined gradients, as tensors that write through to them.
std::vector<at::Tensor> gradients_of(torch::optim::Optimizer& optimizer);

// The optimiser's gradients summed over the ranks, in one collective. Parameters without a
// gradient are left out (the optimiser skips them): the ranks build the same graph, so they
// leave out the same ones.
void sum_gradients(ProcessGroup& group, torch::optim::Optimizer& optimizer);

}  // namespace ssdd::train

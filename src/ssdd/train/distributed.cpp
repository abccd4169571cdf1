#include "ssdd/train/distributed.h"

// Gloo's own headers come from Debian's libgloo-dev here; a LibTorch without them (some GPU
// builds) still has NCCL, so their absence takes away the gloo backend, not the build.
#if __has_include(<gloo/algorithm.h>)
#define SSDD_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "ssdd/core/error.h"
#include "ssdd/core/stop.h"

namespace ssdd::train {
namespace {

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

int integer(const char* name, const std::string& text, int lo, int hi) {
  size_t used = 0;
  long value = -1;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < lo || value > hi)
    throw ConfigError(name, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                                ", found '" + text + "'");
  return static_cast<int>(value);
}

// The first line of an exception's text: LibTorch's carry a C++ backtrace after it.
std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10 ? c10->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}

#ifdef SSDD_HAVE_GLOO
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const auto interface = variable("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(*interface);
  // One machine: the loopback, which needs no resolvable host name (a container's may not be).
  if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

// How every distributed error starts: which rank of how many says it.
std::string rank_says(const World& world) {
  return "distributed: rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ": ";
}

}  // namespace

World world_from_environment() {
  World w;
  const auto rank = variable("RANK"), size = variable("WORLD_SIZE");
  const auto slurm_rank = variable("SLURM_PROCID"), slurm_size = variable("SLURM_NTASKS");
  if (rank || size) {
    if (!rank || !size)
      throw ConfigError(rank ? "WORLD_SIZE" : "RANK", std::string("set together with ") + (rank ? "RANK" : "WORLD_SIZE") +
                                                          ", found it unset");
    w.launcher = "torchrun";
    w.size = integer("WORLD_SIZE", *size, 1, 1 << 20);
    w.rank = integer("RANK", *rank, 0, w.size - 1);
    w.local_rank = integer("LOCAL_RANK", variable("LOCAL_RANK").value_or("0"), 0, w.size - 1);
  } else if (slurm_rank && slurm_size && *slurm_size != "1") {
    w.launcher = "slurm";
    w.size = integer("SLURM_NTASKS", *slurm_size, 1, 1 << 20);
    w.rank = integer("SLURM_PROCID", *slurm_rank, 0, w.size - 1);
    w.local_rank = integer("SLURM_LOCALID", variable("SLURM_LOCALID").value_or("0"), 0, w.size - 1);
  } else {
    return w;  // one process
  }
  if (!w.distributed()) return w;
  const auto addr = variable("MASTER_ADDR"), port = variable("MASTER_PORT");
  const std::string hint = w.launcher == "slurm" ? " (export it in the job script, e.g. the first host of "
                                                   "$SLURM_JOB_NODELIST)"
                                                 : "";
  if (!addr) throw ConfigError("MASTER_ADDR", "the host of rank 0's store" + hint + ", found it unset");
  if (!port) throw ConfigError("MASTER_PORT", "the port of rank 0's store" + hint + ", found it unset");
  w.master_addr = *addr;
  w.master_port = integer("MASTER_PORT", *port, 1, 65535);
  return w;
}

std::string resolve_backend(const std::string& backend, c10::Device device) {
  const std::string b = backend.empty() ? (device.is_cuda() ? "nccl" : "gloo") : backend;
  if (b != "gloo" && b != "nccl") throw ConfigError("--backend", "expected gloo or nccl, found '" + b + "'");
#ifndef SSDD_HAVE_GLOO
  if (b == "gloo") throw ConfigError("--backend", "gloo: its headers were missing when ssdd was built (libgloo-dev)");
#endif
#ifndef USE_C10D_NCCL
  if (b == "nccl")
    throw ConfigError("--backend", "nccl: this LibTorch was built without NCCL; use gloo (CPU tensors)");
#endif
  return b;
}

struct ProcessGroup::Impl {
  World world;
  std::string backend;
  std::chrono::milliseconds timeout{0};
  c10::Device device{c10::kCPU};  // where this rank's tensors for the collectives live
  c10::intrusive_ptr<c10d::Store> store;
  int64_t keys_made = 0;
#ifdef SSDD_HAVE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  // Runs one collective on whichever group this is and waits for it, within the timeout.
  template <class Collective>
  void run(const std::string& what, Collective&& collective) {
    const auto start = std::chrono::steady_clock::now();
    try {
      c10::intrusive_ptr<c10d::Work> work;
#ifdef USE_C10D_NCCL
      if (nccl) work = collective(*nccl);
#endif
#ifdef SSDD_HAVE_GLOO
      if (gloo) work = collective(*gloo);
#endif
      work->wait(timeout);
    } catch (const std::exception& e) {
      throw Error(rank_says(world) + what + " failed (a rank stopped, or took longer than " +
                  std::to_string(timeout.count() / 1000) + " s): " + first_line(e));
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  double seconds = 0;  // in collectives so far, waits for the other ranks included
};

ProcessGroup::ProcessGroup(const World& world, const std::string& backend, c10::Device device,
                           std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->world = world;
  impl_->backend = resolve_backend(backend, device);
  impl_->timeout = timeout;
  impl_->device = device;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(world.master_port);
  store_options.isServer = world.rank == 0;
  store_options.numWorkers = static_cast<size_t>(world.size);
  store_options.timeout = timeout;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, store_options);
    impl_->store = store;
    if (impl_->backend == "gloo") {
#ifdef SSDD_HAVE_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(gloo_device(world.master_addr));
      impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.size, options);
#endif
    } else {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.size, options);
#endif
    }
  } catch (const std::exception& e) {
    throw Error(rank_says(world) + "could not join the group at " + world.master_addr + ":" +
                std::to_string(world.master_port) +
                " within " + std::to_string(timeout.count() / 1000) + " s: " + first_line(e));
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->world.rank; }
int ProcessGroup::size() const { return impl_->world.size; }
double ProcessGroup::seconds_in_collectives() const { return impl_->seconds; }
const std::string& ProcessGroup::backend() const { return impl_->backend; }

void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  // c10d's tensor list means one tensor per device, all alike; several tensors of one rank
  // travel in one flat buffer instead: one collective whatever their number and shapes.
  const bool in_place = tensors.size() == 1 && tensors[0].is_contiguous();
  std::vector<at::Tensor> buffer{tensors[0]};
  if (!in_place) {
    std::vector<at::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.reshape(-1));
    buffer[0] = torch::cat(flat);
  }
  impl_->run("all-reduce", [&](auto& group) { return group.allreduce(buffer, c10d::AllreduceOptions{}); });
  if (in_place) return;
  int64_t offset = 0;
  for (auto& t : tensors) {
    t.copy_(buffer[0].narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

void ProcessGroup::all_reduce_mean(std::vector<at::Tensor>& tensors) {
  all_reduce_sum(tensors);  // Gloo has no average
  for (auto& t : tensors) t.div_(size());
}

at::Tensor ProcessGroup::all_gather(const at::Tensor& tensor) {
  std::vector<at::Tensor> input{tensor.contiguous()};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->run("all-gather", [&](auto& group) { return group.allgather(output, input, c10d::AllgatherOptions{}); });
  return torch::cat(output[0], 0);
}

void ProcessGroup::broadcast(std::vector<at::Tensor>& tensors, int root) {
  c10d::BroadcastOptions options;
  options.rootRank = root;
  impl_->run("broadcast", [&](auto& group) { return group.broadcast(tensors, options); });
}

std::string ProcessGroup::broadcast_bytes(const std::string& bytes, int root) {
  const auto on = [&](c10::ScalarType type) { return torch::TensorOptions().dtype(type).device(impl_->device); };
  std::vector<at::Tensor> size{torch::full({1}, static_cast<int64_t>(bytes.size()), on(torch::kLong))};
  broadcast(size, root);
  const int64_t n = size[0].item<int64_t>();
  std::vector<at::Tensor> data{rank() == root ? torch::from_blob(const_cast<char*>(bytes.data()), {n}, torch::kUInt8)
                                                    .to(impl_->device, /*non_blocking=*/false, /*copy=*/true)
                                              : torch::empty({n}, on(torch::kUInt8))};
  broadcast(data, root);
  const at::Tensor host = data[0].to(torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

void ProcessGroup::barrier() {
  impl_->run("barrier", [&](auto& group) { return group.barrier(c10d::BarrierOptions{}); });
}

std::string ProcessGroup::fresh_key(const std::string& what) {
  return "ssdd/" + std::to_string(impl_->keys_made++) + "/" + what;
}

int64_t ProcessGroup::add(const std::string& key, int64_t delta) {
  try {
    return impl_->store->add(key, delta);
  } catch (const std::exception& e) {
    // c10d's store serves one request at a time: a rank stopped halfway through sending one
    // holds up every rank's.
    throw Error(rank_says(impl_->world) + "the job's store (rank 0) did not answer within " +
                std::to_string(impl_->timeout.count() / 1000) +
                " s (rank 0 stopped, or a rank stopped in the middle of a request): " + first_line(e));
  }
}

void ProcessGroup::wait_for_all(const std::string& name, const std::string& progress_key, const std::string& stage) {
  using Clock = std::chrono::steady_clock;
  impl_->store->set(name + "/rank-" + std::to_string(rank()), std::vector<uint8_t>{1});
  add(name, 1);
  int64_t progress = add(progress_key, 0);
  auto moved = Clock::now();
  while (add(name, 0) < size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t now = add(progress_key, 0);
    throw_if_stopped(stage, now);
    if (now != progress) {
      progress = now;
      moved = Clock::now();
    } else if (Clock::now() - moved > impl_->timeout) {
      std::string missing;
      for (int r = 0; r < size(); ++r)
        if (!impl_->store->check({name + "/rank-" + std::to_string(r)}))
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      throw Error(rank_says(impl_->world) + "rank(s) " + missing +
                  " did not finish their share, and no rank finished any work in " +
                  std::to_string(impl_->timeout.count() / 1000) + " s (raise --timeout if one piece of work "
                  "takes longer)");
    }
  }
}

std::vector<at::Tensor> gradients_of(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> grads;
  for (auto& param_group : optimizer.param_groups())
    for (auto& p : param_group.params())
      if (p.grad().defined()) grads.push_back(p.mutable_grad());
  return grads;
}

void sum_gradients(ProcessGroup& group, torch::optim::Optimizer& optimizer) {
  auto grads = gradients_of(optimizer);
  group.all_reduce_sum(grads);
}

}  // namespace ssdd::train

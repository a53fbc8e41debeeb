#pragma once

// Time-driven work without hand-written loops: run a task every N, or once at
// (or after) a time. ThreadScheduler runs tasks on a thread of its own against
// the system clock; ManualScheduler runs them on the caller's thread when a
// test moves a FakeClock on, so timers (reservation timeouts, lease expiry,
// the pacing tick, retention sweeps, a simulated carrier) can be tested in
// virtual time, deterministically.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "services/common/core/clock.h"

namespace dialgrid {

class Scheduler {
 public:
  using TaskId = int64_t;
  virtual ~Scheduler() = default;

  // Runs `fn` every `period`, the first time one period from now. Runs never
  // overlap; a run that overruns delays the next (no catching up in bursts).
  virtual TaskId Every(absl::Duration period, std::function<void()> fn) = 0;
  // Runs `fn` once at `when` (at once if that has passed).
  virtual TaskId At(absl::Time when, std::function<void()> fn) = 0;
  TaskId After(absl::Duration delay, std::function<void()> fn) {
    return At(clock().Now() + delay, std::move(fn));
  }
  // After Cancel returns, the task does not start again (a run under way on
  // another thread finishes first; Cancel waits for it unless called from it).
  virtual void Cancel(TaskId id) = 0;
  virtual const Clock& clock() const = 0;
};

// Tasks ordered by due time, run one at a time.
class TaskQueue {
 public:
  struct Task {
    absl::Duration period;  // zero: once
    std::function<void()> fn;
  };
  Scheduler::TaskId Add(absl::Time when, Task task);
  void Cancel(Scheduler::TaskId id);
  // The earliest due time, InfiniteFuture when empty.
  absl::Time NextDue() const;
  // Removes and returns the earliest task due at or before `now`; false if none.
  bool PopDue(absl::Time now, Scheduler::TaskId& id, Task& task);
  // Puts a periodic task back for its next run.
  void Reschedule(Scheduler::TaskId id, absl::Time when, Task task);
  bool Cancelled(Scheduler::TaskId id) const;

 private:
  std::multimap<absl::Time, std::pair<Scheduler::TaskId, Task>> due_;
  std::map<Scheduler::TaskId, absl::Time> when_;
  Scheduler::TaskId next_id_ = 1;
};

// One thread; the system clock (or any real-time clock).
class ThreadScheduler final : public Scheduler {
 public:
  explicit ThreadScheduler(const Clock& clock = SystemClock::Get());
  ~ThreadScheduler() override;  // Stop()

  TaskId Every(absl::Duration period, std::function<void()> fn) override;
  TaskId At(absl::Time when, std::function<void()> fn) override;
  void Cancel(TaskId id) override;
  const Clock& clock() const override { return clock_; }
  // Cancels everything and joins the thread (a run under way finishes).
  void Stop();

 private:
  void Loop();

  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  TaskQueue queue_;
  TaskId running_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// Runs due tasks when told to, on the caller's thread: tests advance a
// FakeClock with AdvanceBy/AdvanceTo, which runs every task due up to the new
// time in time order (with the clock set to each task's due time).
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(FakeClock& clock) : clock_(clock) {}

  TaskId Every(absl::Duration period, std::function<void()> fn) override;
  TaskId At(absl::Time when, std::function<void()> fn) override;
  void Cancel(TaskId id) override;
  const Clock& clock() const override { return clock_; }

  // Moves the clock to `t`, running what falls due on the way. Returns the
  // number of runs.
  int AdvanceTo(absl::Time t);
  int AdvanceBy(absl::Duration d) { return AdvanceTo(clock_.Now() + d); }
  // Runs what is due now.
  int RunDue() { return AdvanceTo(clock_.Now()); }

 private:
  FakeClock& clock_;
  std::mutex mu_;
  TaskQueue queue_;
};

}  // namespace dialgrid

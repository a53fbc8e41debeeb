#pragma once

// Ctrl-C (SIGINT) and SIGTERM for commands that run until interrupted (the
// watches): a handler writes to a pipe (async-signal-safe, whichever thread
// the signal lands on), and a thread reading the pipe calls `on_signal`,
// which cancels the call, so the command ends normally and exits 0.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace dialgrid::ctl {

class InterruptWatcher {
 public:
  InterruptWatcher() {
    if (pipe(fds_) != 0) fds_[0] = fds_[1] = -1;
    if (fds_[1] >= 0) fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    write_fd_.store(fds_[1]);
    struct sigaction sa {};
    sa.sa_handler = &InterruptWatcher::OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptWatcher() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    write_fd_.store(-1);
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  void Start(std::function<void()> on_signal) {
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      while (!stop_ && fds_[0] >= 0) {
        pollfd p{fds_[0], POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
          interrupted_ = true;
          on_signal();
          return;
        }
      }
    });
  }
  bool interrupted() const { return interrupted_; }

 private:
  static void OnSignal(int) {
    int fd = write_fd_.load();
    if (fd >= 0) {
      char c = 1;
      ssize_t ignored = write(fd, &c, 1);
      (void)ignored;
    }
  }

  static inline std::atomic<int> write_fd_{-1};
  int fds_[2] = {-1, -1};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace dialgrid::ctl

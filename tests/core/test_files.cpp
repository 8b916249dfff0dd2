// Run-directory safety: one writer per directory, the temporaries of killed writers cleaned up, and those of
// writers stopped by SIGINT / SIGTERM removed before the process ends.
#include "errors.h"
#include "temp_dir.h"

#include "sslkit/ssl/files.h"

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

using ssl::testing::error_message;
using ssl::testing::TempDir;

TEST_CASE("A locked directory refuses a second writer naming the holder, and is free again after release",
          "[core][files]") {
  TempDir dir;
  std::optional<ssl::DirectoryLock> first;
  first.emplace(dir.str());
  // flock locks belong to an open file description, so a second lock in this process conflicts as another
  // process's would.
  CHECK(error_message([&] { ssl::DirectoryLock second(dir.str()); }) ==
        "'" + dir.str() + "' is in use by another run (process " + std::to_string(getpid()) + " holds its lock)");
  first.reset();
  CHECK_FALSE(std::filesystem::exists(dir.file(".lock")));
  CHECK_NOTHROW(ssl::DirectoryLock(dir.str()));
}

TEST_CASE("remove_stale_temporaries removes the temporaries of dead processes only", "[core][files]") {
  TempDir dir;
  const pid_t child = fork();
  if (child == 0) _exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);  // reaped: its PID names no process now
  const std::string dead = dir.file("checkpoint.pt.tmp." + std::to_string(child));
  const std::string mine = dir.file("metrics.csv.tmp." + std::to_string(getpid()));
  const std::string other = dir.file("notes.tmp.txt");
  for (const auto& path : {dead, mine, other}) std::ofstream(path) << "x";
  CHECK(ssl::remove_stale_temporaries(dir.str()) == 1);
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(mine));
  CHECK(std::filesystem::exists(other));
}

namespace {

// Runs `body` in a child process with SIGINT and SIGTERM at their default action (Catch2 catches them in the
// test process); returns its wait status.
int in_child(const std::function<void()>& body) {
  const pid_t child = fork();
  if (child == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

bool default_action(int signal) {
  struct sigaction action {};
  sigaction(signal, nullptr, &action);
  return action.sa_handler == SIG_DFL;
}

extern "C" void ignore_signal(int) {}

}  // namespace

TEST_CASE("SIGTERM or SIGINT removes guarded temporaries and ends the process by that signal", "[core][files]") {
  TempDir dir;
  for (const int signal : {SIGTERM, SIGINT}) {
    const std::string tmp = dir.file("out.h5.tmp." + std::to_string(signal)), other = dir.file("other.tmp");
    const int status = in_child([&] {
      std::ofstream(tmp) << "partial";
      std::ofstream(other) << "not guarded";
      const ssl::TemporaryFileGuard guard(tmp);
      std::raise(signal);
      _exit(3);  // not reached: the signal ends the process
    });
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal);
    CHECK_FALSE(std::filesystem::exists(tmp));
    CHECK(std::filesystem::exists(other));
  }
}

TEST_CASE("TemporaryFileGuard installs its handler only over the default action, and the last guard restores it",
          "[core][files]") {
  TempDir dir;
  // Exit code bit k set: check k failed.
  const int status = in_child([&] {
    int failed = 0;
    {
      const ssl::TemporaryFileGuard first(dir.file("a.tmp.1"));
      {
        const ssl::TemporaryFileGuard second(dir.file("b.tmp.1"));
        if (default_action(SIGTERM) || default_action(SIGINT)) failed |= 1;
      }
      if (default_action(SIGTERM)) failed |= 2;  // `first` still guards
    }
    if (!default_action(SIGTERM) || !default_action(SIGINT)) failed |= 4;
    std::signal(SIGTERM, ignore_signal);
    {
      const ssl::TemporaryFileGuard guard(dir.file("c.tmp.1"));
      struct sigaction action {};
      sigaction(SIGTERM, nullptr, &action);
      if (action.sa_handler != ignore_signal) failed |= 8;
    }
    _exit(failed);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

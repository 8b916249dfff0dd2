// Run-directory safety: one writer per directory, and the temporaries of killed writers cleaned up.
#include "errors.h"
#include "temp_dir.h"

#include "sslkit/ssl/files.h"

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

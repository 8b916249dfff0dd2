#pragma once
#include <c10/util/Exception.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ssl {

/// One registered component: its name, a one-line description for `--help` lists, and its factory (which
/// applies the component's default options).
template <typename Factory>
struct RegistryEntry {
  /// The name users select the component by ("convnet-w", "rotations", "simclr").
  std::string name;
  /// What the component is, in one line.
  std::string description;
  /// Builds the component.
  Factory factory;
};

/// A named table of components of one kind (encoders, views, methods), in registration order. Every lookup
/// of an unknown name throws the same one line, "unknown <kind> 'NAME': expected one of A, B, C". Safe to use
/// from several threads; `add` may extend or override the table at run time.
///
/// Each table is filled by one line per component in the registry's own source file (encoders.cpp,
/// views/registry.cpp, methods/registry.cpp) rather than by static registrars in the components' files: the
/// libraries are static, and a linker drops an object file that nothing references, registrar and all.
template <typename Factory>
class Registry {
 public:
  /// A table of `kind` ("encoder", "view", "method") holding `entries`.
  Registry(std::string kind, std::vector<RegistryEntry<Factory>> entries)
      : kind_(std::move(kind)), entries_(std::move(entries)) {}

  /// The factory registered under `name`; throws listing the registered names when there is none.
  Factory factory(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : entries_)
      if (entry.name == name) return entry.factory;
    TORCH_CHECK_VALUE(false, "unknown ", kind_, " '", name, "': expected one of ", join(", "));
  }

  /// Whether `name` is registered.
  bool contains(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : entries_)
      if (entry.name == name) return true;
    return false;
  }

  /// The registered names, in registration order.
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> names;
    for (const auto& entry : entries_) names.push_back(entry.name);
    return names;
  }

  /// The names joined by `separator` ("a | b | c" for a help line, "a, b, c" for an error).
  std::string joined_names(const std::string& separator) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return join(separator);
  }

  /// One line per entry, "  NAME: DESCRIPTION\n", for `--help`.
  std::string describe() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string text;
    for (const auto& entry : entries_) text += "  " + entry.name + ": " + entry.description + "\n";
    return text;
  }

  /// Adds `entry`, or replaces the entry of the same name in place.
  void add(RegistryEntry<Factory> entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& existing : entries_) {
      if (existing.name == entry.name) {
        existing = std::move(entry);
        return;
      }
    }
    entries_.push_back(std::move(entry));
  }

 private:
  // The names joined by `separator`; the caller holds the mutex.
  std::string join(const std::string& separator) const {
    std::string text;
    for (const auto& entry : entries_) text += (text.empty() ? "" : separator) + entry.name;
    return text;
  }

  std::string kind_;
  std::vector<RegistryEntry<Factory>> entries_;
  mutable std::mutex mutex_;
};

}  // namespace ssl

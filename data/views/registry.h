#pragma once
#include "sslkit/data/views/view_maker.h"

#include <memory>
#include <string>
#include <vector>

namespace ssl::data {

/// What the view registry holds per name: a function making the view, with its default options, that
/// normalizes with the given statistics.
using ViewFactory = std::shared_ptr<const ViewMaker> (*)(const Normalization&);

/// The registered view names: two-views, multi-crop, rotations, patch-grid, jigsaw, relative-patch.
std::vector<std::string> view_names();

/// One line per registered view: its name and what it makes.
std::string describe_views();

/// The view `name` with its default options, normalizing with `norm`; throws one line listing the valid names.
std::shared_ptr<const ViewMaker> make_view(const std::string& name, const Normalization& norm);

}  // namespace ssl::data

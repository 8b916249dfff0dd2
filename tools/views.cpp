// sslkit views: a PNG grid of what a pretext view makes of the first images of a data set.
#include "cli.h"
#include "commands.h"

#include "sslkit/data/loader.h"
#include "sslkit/data/view_grid.h"
#include "sslkit/data/views/registry.h"
#include "sslkit/ssl/png.h"

#include <algorithm>
#include <cstdio>

namespace ssl::cli {

int views_main(int argc, char** argv) {
  const data::ViewGridOptions grid;
  po::options_description description("sslkit views options");
  description.add_options()
      ("data", po::value<std::string>()->default_value("fashion-mnist"), "fashion-mnist or a folder of IDX files")
      ("split", po::value<std::string>()->default_value("train"), "train | test")
      ("view", po::value<std::string>()->default_value("two-views"), "pretext view (see the list below)")
      ("count", po::value<int64_t>()->default_value(8), "images (rows) to show")
      ("epoch", po::value<int64_t>()->default_value(0), "epoch whose random draws to show")
      ("scale", po::value<int64_t>()->default_value(grid.scale()), "screen pixels per image pixel")
      ("out", po::value<std::string>()->default_value("views.png"), "PNG file to write (atomically)");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit views [--view NAME] [--count N] [--out FILE.png] [options]\n"
                  "Draws, for the first N images, the original then every view the loader makes of it (with --seed\n"
                  "and --epoch), captioned with the data-set label (y=) and the pretext target (t=). Views:\n" +
                      data::describe_views());
  if (!vm) return 0;
  const auto& v = *vm;
  const std::string view = v["view"].as<std::string>(), split = v["split"].as<std::string>();
  const auto names = data::view_names();
  if (std::find(names.begin(), names.end(), view) == names.end()) {
    std::string valid;
    for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
    throw po::error("unknown view '" + view + "': expected one of " + valid);
  }
  if (split != "train" && split != "test") throw po::error("invalid --split '" + split + "': expected train or test");
  const int64_t count = v["count"].as<int64_t>(), scale = v["scale"].as<int64_t>(), epoch = v["epoch"].as<int64_t>();
  if (count < 1 || count > 256) throw po::error("--count must be in 1..256, got " + std::to_string(count));
  if (scale < 1 || scale > 32) throw po::error("--scale must be in 1..32, got " + std::to_string(scale));
  if (epoch < 0) throw po::error("--epoch must be >= 0, got " + std::to_string(epoch));
  const std::string out = v["out"].as<std::string>();

  const auto set = data::load_split(v["data"].as<std::string>(), split == "train" ? data::Split::Train : data::Split::Test);
  const auto norm = data::compute_normalization(set);
  auto shown = std::make_shared<data::ImageSet>(data::head(set, count));
  const auto maker = data::make_view(view, norm);
  data::Loader loader(std::make_shared<data::MemorySource>(*shown), maker,
                      data::LoaderOptions(shown->size()).workers(0).shuffle(false).drop_last(false).seed(v["seed"].as<uint64_t>()));
  const data::Batch batch = loader.make_batch(epoch, 0);
  const auto canvas = data::render_view_grid(shown->images, batch, norm, data::ViewGridOptions().scale(scale));
  write_png(out, canvas.data_ptr<uint8_t>(), canvas.size(0), canvas.size(1), 3);
  std::printf("wrote %s: %lld images x %s, %lldx%lld px\n", out.c_str(), static_cast<long long>(shown->size()),
              view.c_str(), static_cast<long long>(canvas.size(1)), static_cast<long long>(canvas.size(0)));
  return 0;
}

}  // namespace ssl::cli

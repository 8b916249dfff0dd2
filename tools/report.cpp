// sslkit report: one table comparing run directories (method, encoder, epochs, speed, probe accuracies).
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/eval/report.h"

#include <cstdio>
#include <iostream>

namespace ssl::cli {

int report_main(int argc, char** argv) {
  po::options_description description("sslkit report options");
  description.add_options()
      ("run", po::value<std::vector<std::string>>()->multitoken(), "run directories (also as plain arguments)")
      ("format", po::value<std::string>()->default_value("text"), "text | markdown | csv")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map v;
  po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), v);
  po::notify(v);
  if (v.count("help")) {
    std::printf("usage: sslkit report RUN_DIR... [--format text|markdown|csv]\n"
                "One row per run (and per baseline probed on it): method, encoder, epochs, images/s, linear-probe,\n"
                "kNN and low-label accuracies, from options.ini, metrics.jsonl and the probe*.json files that\n"
                "`sslkit probe --checkpoint RUN_DIR` saves.\n\n");
    std::cout << description << "\n";
    return 0;
  }
  if (!v.count("run")) throw po::error("no run directory given: usage: sslkit report RUN_DIR... [--format FORMAT]");
  const auto options = eval::ReportOptions()
                           .runs(v["run"].as<std::vector<std::string>>())
                           .format(eval::parse_report_format(v["format"].as<std::string>()));
  std::printf("%s", eval::report(options).c_str());
  return 0;
}

}  // namespace ssl::cli

// sslkit report: one table comparing run directories (method, encoder, epochs, speed, probe accuracies).
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/eval/html_report.h"
#include "sslkit/trainers/eval/report.h"

#include <cstdio>
#include <iostream>

namespace ssl::cli {

int report_main(int argc, char** argv) {
  po::options_description description("sslkit report options");
  description.add_options()
      ("run", po::value<std::vector<std::string>>()->multitoken(), "run directories (also as plain arguments)")
      ("format", po::value<std::string>()->default_value("text"), "text | markdown | csv")
      ("html", po::value<std::string>(), "also write one self-contained HTML page of the runs to this file")
      ("title", po::value<std::string>()->default_value(eval::HtmlReportOptions().title()), "the HTML page's title")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map v;
  po::store(po::command_line_parser(argc, argv).options(description).positional(positional).run(), v);
  po::notify(v);
  if (v.count("help")) {
    std::printf("usage: sslkit report RUN_DIR... [--format text|markdown|csv] [--html OUT.html]\n"
                "One row per run (and per baseline probed on it): method, encoder, epochs, images/s, linear-probe,\n"
                "kNN and low-label accuracies, from options.ini, metrics.jsonl and the probe*.json files that\n"
                "`sslkit probe --checkpoint RUN_DIR` saves. --html writes a page with the training curves, options,\n"
                "views, probe, retrieval and map results of every run (inline images; no network, no script).\n\n");
    std::cout << description << "\n";
    return 0;
  }
  if (!v.count("run")) throw po::error("no run directory given: usage: sslkit report RUN_DIR... [--format FORMAT]");
  const auto options = eval::ReportOptions()
                           .runs(v["run"].as<std::vector<std::string>>())
                           .format(eval::parse_report_format(v["format"].as<std::string>()));
  std::printf("%s", eval::report(options).c_str());
  if (v.count("html")) {
    const std::string path = v["html"].as<std::string>();
    eval::write_html_report(eval::HtmlReportOptions().runs(options.runs()).title(v["title"].as<std::string>()), path);
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace ssl::cli

#include "sslkit/ssl/files.h"
#include "sslkit/ssl/png.h"
#include "sslkit/trainers/eval/html_report.h"

#include "../temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

namespace E = ssl::eval;

TEST_CASE("base64 of the RFC 4648 test vectors", "[eval][report][html]") {
  // RFC 4648 section 10.
  CHECK(E::base64("") == "");
  CHECK(E::base64("f") == "Zg==");
  CHECK(E::base64("fo") == "Zm8=");
  CHECK(E::base64("foo") == "Zm9v");
  CHECK(E::base64("foob") == "Zm9vYg==");
  CHECK(E::base64("fooba") == "Zm9vYmE=");
  CHECK(E::base64("foobar") == "Zm9vYmFy");
  CHECK(E::base64(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("HTML escaping and axis ticks", "[eval][report][html]") {
  CHECK(E::html_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  auto same = [](const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-12));
  };
  same(E::nice_ticks(0, 1, 5), {0, 0.2, 0.4, 0.6, 0.8, 1});
  // (0.87 - 0.13) / 5 = 0.148 rounds up to a spacing of 0.2; ticks stay inside the range.
  same(E::nice_ticks(0.13, 0.87, 5), {0.2, 0.4, 0.6, 0.8});
  // 1300 / 6 = 217 per tick: 200 is too fine, so the spacing is the next of 1, 2, 5 x 100, 500.
  same(E::nice_ticks(0, 1300, 6), {0, 500, 1000});
  same(E::nice_ticks(-0.004, 0.0021, 4), {-0.004, -0.002, 0, 0.002});
  same(E::nice_ticks(3, 3, 5), {3});
}

namespace {

// A run directory with what sslkit pretrain and probe leave there, numbers chosen to be found in the page.
void write_run(const std::string& dir, bool with_results) {
  std::filesystem::create_directories(dir);
  ssl::write_file_atomic(dir + "/options.ini", "# options\nmethod = simclr\nencoder = convnet-s\ndata = fashion-mnist\n"
                                               "lr = 0.002\nout = " + dir + "\n");
  ssl::write_file_atomic(dir + "/metrics.jsonl",
                         "{\"epoch\":0,\"step\":10,\"loss\":5.5,\"lr\":0.001,\"images_per_second\":900,\"elapsed_s\":3}\n"
                         "{\"epoch\":0,\"step\":20,\"loss\":4.25,\"lr\":0.002,\"images_per_second\":950,\"elapsed_s\":6,"
                         "\"knn_accuracy\":0.61}\n");
  if (!with_results) return;
  const uint8_t pixels[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  ssl::write_png(dir + "/views.png", pixels, 2, 2, 3);
  std::string confusion = "[";
  for (int i = 0; i < 10; ++i) {
    confusion += i ? ",[" : "[";
    for (int j = 0; j < 10; ++j) confusion += (j ? "," : "") + std::to_string(i == j ? 900 + i : 11);
    confusion += "]";
  }
  confusion += "]";
  ssl::write_file_atomic(
      dir + "/probe.json",
      "{\"task\":\"classification\",\"features\":\"encoder\",\"test_accuracy\":0.8765,\"knn_accuracy\":0.8123,"
      "\"per_class_accuracy\":[0.5,0.91,0.92,0.93,0.94,0.95,0.96,0.97,0.98,0.999],\"confusion_matrix\":" + confusion +
      ",\"label_fractions\":[{\"fraction\":0.1,\"train_size\":6000,\"test_accuracy\":0.8,\"top5_accuracy\":0.99,"
      "\"balanced_accuracy\":0.8,\"knn_accuracy\":0.7},{\"fraction\":1,\"train_size\":60000,\"test_accuracy\":0.8765,"
      "\"top5_accuracy\":0.998,\"balanced_accuracy\":0.8765,\"knn_accuracy\":0.8123}]}\n");
  ssl::write_file_atomic(dir + "/probe-retrieval-raw.json",
                         "{\"task\":\"retrieval\",\"features\":\"raw\",\"gallery\":60000,\"queries\":10000,"
                         "\"map_at_r\":0.3456,\"mean_average_precision\":0.4567,\"precision_at_1\":0.8,"
                         "\"precision_at_10\":0.75,\"precision_at_100\":0.7}\n");
}

}  // namespace

TEST_CASE("The HTML report shows what run directories hold and lists what they lack", "[eval][report][html]") {
  ssl::testing::TempDir tmp;
  const std::string full = tmp.file("full"), bare = tmp.file("bare");
  write_run(full, true);
  write_run(bare, false);
  ssl::write_file_atomic(bare + "/options.ini", "method = byol\nencoder = convnet-s\ndata = fashion-mnist\n");
  const std::string page = E::html_report(E::HtmlReportOptions().runs({full, bare}).title("two <runs>"));
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<title>two &lt;runs&gt;</title>") != std::string::npos);
  // The options that differ (method; lr only in one), not those that agree (encoder, data) nor out.
  CHECK(page.find("<td>method</td><td>simclr</td><td>byol</td>") != std::string::npos);
  CHECK(page.find("<td>lr</td><td>0.002</td><td>-</td>") != std::string::npos);
  CHECK(page.find("<td>encoder</td><td>convnet-s</td><td>convnet-s</td>") == std::string::npos);
  // Curves of both runs on one chart, by step and by wall-clock minutes; the kNN curve where a run logged it.
  CHECK(page.find("Training loss by step") != std::string::npos);
  CHECK(page.find("Training loss by time") != std::string::npos);
  CHECK(page.find("kNN accuracy (monitor) by step") != std::string::npos);
  CHECK(page.find("wall-clock minutes") != std::string::npos);
  // Probe rows by label fraction, per-class accuracy by class name, the heat map's counts.
  CHECK(page.find("<td>trained encoder</td><td class=\"num\">10%</td><td class=\"num\">6000</td><td "
                  "class=\"num\">80.00%</td>") != std::string::npos);
  CHECK(page.find("<td>t-shirt/top</td><td class=\"num\">50.00%</td>") != std::string::npos);
  CHECK(page.find("<td>ankle boot</td><td class=\"num\">99.90%</td>") != std::string::npos);
  CHECK(page.find(">909</text>") != std::string::npos);
  // Retrieval of the raw pixels; the views inline.
  CHECK(page.find("<td>raw pixels</td><td class=\"num\">10000</td><td class=\"num\">60000</td><td "
                  "class=\"num\">34.56%</td><td class=\"num\">45.67%</td>") != std::string::npos);
  CHECK(page.find("src=\"data:image/png;base64,iVBORw0KGgo") != std::string::npos);
  // What each run lacks, with the command that makes it.
  CHECK(page.find("<li>probe-retrieval.json (sslkit probe --checkpoint " + full + " --task retrieval)</li>") !=
        std::string::npos);
  CHECK(page.find("<li>probe.json (sslkit probe --checkpoint " + bare + ")</li>") != std::string::npos);
  CHECK(page.find("<li>views.png (written by sslkit pretrain") != std::string::npos);
  // Nothing that loads from elsewhere.
  CHECK(!std::regex_search(page, std::regex("<script|<link|src=\"(?!data:)|href=")));
}

TEST_CASE("The HTML report is written atomically and refuses a missing run directory", "[eval][report][html]") {
  ssl::testing::TempDir tmp;
  write_run(tmp.file("run"), true);
  E::write_html_report(E::HtmlReportOptions().runs({tmp.file("run")}), tmp.file("page.html"));
  CHECK(std::filesystem::file_size(tmp.file("page.html")) > 1000);
  CHECK_THROWS_WITH(E::write_html_report(E::HtmlReportOptions().runs({tmp.file("nothing")}), tmp.file("other.html")),
                    Catch::Contains("run directory '" + tmp.file("nothing") + "' not found"));
  CHECK(!std::filesystem::exists(tmp.file("other.html")));
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.str())) entries += entry.path().filename() != "run";
  CHECK(entries == 1);  // page.html and no temporary beside it
}

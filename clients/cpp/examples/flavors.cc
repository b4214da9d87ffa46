// canopy-cpp-flavors: lists the flavors canopyd offers, one name per line,
// page by page.
//
//   canopy-cpp-flavors [ADDRESS]
//
// Authenticates as canopy::Client::FromEnv does: CANOPY_TOKEN, else the
// client credentials file (CANOPY_CREDENTIALS or the one canopyd's first
// start wrote); the address defaults to CANOPY_ADDR or 127.0.0.1:8470.
#include <cstdlib>
#include <iostream>
#include <string>

#include <canopy/client.h>

int main(int argc, char** argv) {
  try {
    if (argc > 1) setenv("CANOPY_ADDR", argv[1], 1);
    auto c = canopy::Client::FromEnv();
    canopy::v1::ListFlavorsRequest req;
    do {
      grpc::ClientContext ctx;
      ctx.set_deadline(canopy::Deadline());
      canopy::v1::ListFlavorsResponse resp;
      grpc::Status status = c.compute->ListFlavors(&ctx, req, &resp);
      if (!status.ok()) {
        std::cerr << "ListFlavors on " << c.address << ": " << status.error_code() << ": " << status.error_message()
                  << "\n";
        return 1;
      }
      for (const auto& flavor : resp.flavors()) std::cout << flavor.name() << "\n";
      for (const auto& e : resp.cloud_errors()) {
        std::cerr << "cloud " << e.cloud() << " unavailable: " << e.message() << "\n";
      }
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}

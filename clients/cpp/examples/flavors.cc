// canopy-cpp-flavors: calls ComputeService.ListFlavors on a canopy server and
// prints one flavor name per line.
//
//   canopy-cpp-flavors [ADDRESS]      (default 127.0.0.1:8470)
//
// CANOPY_TOKEN, when set, is sent as an OAuth 2 bearer token.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "canopy/v1/compute.grpc.pb.h"

int main(int argc, char** argv) {
  const std::string address = argc > 1 ? argv[1] : "127.0.0.1:8470";

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = canopy::v1::ComputeService::NewStub(channel);

  std::string page_token;
  do {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (const char* token = std::getenv("CANOPY_TOKEN"); token && *token) {
      ctx.AddMetadata("authorization", std::string("Bearer ") + token);
    }
    canopy::v1::ListFlavorsRequest req;
    req.set_page_token(page_token);
    canopy::v1::ListFlavorsResponse resp;
    grpc::Status status = stub->ListFlavors(&ctx, req, &resp);
    if (!status.ok()) {
      std::cerr << "ListFlavors on " << address << ": " << status.error_code() << ": "
                << status.error_message() << "\n";
      return 1;
    }
    for (const auto& flavor : resp.flavors()) {
      std::cout << flavor.name() << "\n";
    }
    for (const auto& e : resp.cloud_errors()) {
      std::cerr << "cloud " << e.cloud() << " unavailable: " << e.message() << "\n";
    }
    page_token = resp.next_page_token();
  } while (!page_token.empty());
  return 0;
}

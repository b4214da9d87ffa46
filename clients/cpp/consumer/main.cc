// canopy-consumer: lists the clouds canopyd serves, authenticated from the
// environment (CANOPY_ADDR, CANOPY_TOKEN or the credentials file).
#include <iostream>

#include <canopy/client.h>

int main() {
  try {
    auto c = canopy::Client::FromEnv();
    grpc::ClientContext ctx;
    ctx.set_deadline(canopy::Deadline());
    canopy::v1::ListCloudsResponse resp;
    auto st = c.clouds->ListClouds(&ctx, canopy::v1::ListCloudsRequest(), &resp);
    if (!st.ok()) {
      std::cerr << "ListClouds: " << st.error_code() << ": " << st.error_message() << "\n";
      return 1;
    }
    for (const auto& cl : resp.clouds()) std::cout << cl.name() << " " << cl.kind() << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}

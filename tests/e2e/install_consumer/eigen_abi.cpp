// Passes Eigen objects to and from the library (the elastic-net path), which crashed when the
// consumer's Eigen alignment (16 bytes without -march) differed from libscpx.a's (32 with AVX2).
#include "scpx/enet/glmnet.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdio>

int main() {
    Eigen::MatrixXd x(80, 30);
    Eigen::VectorXd y(80);
    unsigned state = 12345; // a small LCG: the same dosages everywhere, no <random> distribution
    for (int i = 0; i < 80; ++i) {
        for (int j = 0; j < 30; ++j) {
            state = state * 1103515245u + 12345u;
            x(i, j) = static_cast<double>((state >> 16) % 3); // dosages 0..2
        }
        y[i] = 2 * x(i, 0) + x(i, 3) + 0.1 * std::sin(i);
    }
    const scpx::enet::path_fit fit = scpx::enet::fit_path(x, y);
    const Eigen::VectorXd beta = fit.beta(fit.size() - 1);
    std::printf("lambdas %d, beta[0] %.3f, beta[3] %.3f\n", fit.size(), beta[0], beta[3]);
    return fit.size() > 1 && beta[0] > 1.5 ? 0 : 1;
}

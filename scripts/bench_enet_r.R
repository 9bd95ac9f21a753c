# R glmnet side of scripts/bench_enet_cv.sh: the same procedure as `scpx enet cv` on the same
# files — one cv.glmnet(alpha = 0.5, foldid = column 1) and, with k fold columns, the
# PredictDb-nextflow repeats (cv.glmnet(lambda = the first fit's lambdas) per further column,
# cvm averaged, which.min) — timed (user CPU s of the glmnet calls only, best of REPS), and the
# weights at the chosen lambda written for comparison.
# Usage: Rscript scripts/bench_enet_r.R GENO.tsv.gz EXPR.tsv FOLDS.tsv REPS OUT_PREFIX
# Writes OUT_PREFIX (best_index n_weights user_s) and OUT_PREFIX.weights (varID weight).
suppressMessages(library(glmnet))
args <- commandArgs(trailingOnly = TRUE)
geno <- args[1]; expr <- args[2]; folds <- args[3]; reps <- as.integer(args[4]); out <- args[5]
g <- read.table(gzfile(geno), header = TRUE, sep = "\t", check.names = FALSE, row.names = 1)
e <- read.table(expr, header = TRUE, sep = "\t", check.names = FALSE, row.names = 1)
f <- read.table(folds, header = TRUE, sep = "\t", check.names = FALSE)
samples <- colnames(e)
x <- t(as.matrix(g[, samples])); y <- as.numeric(e[1, samples])
fid <- as.matrix(f[match(samples, f$sample), -1, drop = FALSE])
run <- function() {
  cv1 <- cv.glmnet(x, y, alpha = 0.5, foldid = fid[, 1], type.measure = "mse", keep = TRUE)
  cvms <- list(cv1$cvm)
  if (ncol(fid) > 1) for (k in 2:ncol(fid)) {
    cvk <- cv.glmnet(x, y, alpha = 0.5, foldid = fid[, k], lambda = cv1$lambda, type.measure = "mse")
    cvms[[k]] <- cvk$cvm
  }
  cvm <- Reduce(`+`, cvms) / length(cvms)
  best <- which.min(cvm)
  list(cv1 = cv1, best = best, cvm = cvm)
}
best_t <- Inf
for (r in seq_len(reps)) {
  t <- system.time(res <- run())[["user.self"]]
  best_t <- min(best_t, t)
}
w <- as.matrix(coef(res$cv1$glmnet.fit, s = res$cv1$lambda[res$best]))[-1, 1]
w <- w[w != 0]
writeLines(c(sprintf("%d\t%d\t%.17g", res$best, length(w), best_t)), out)
write.table(data.frame(varID = names(w), weight = sprintf("%.17g", w)), paste0(out, ".weights"),
            sep = "\t", quote = FALSE, row.names = FALSE)
cat(sprintf("R glmnet %s: best index %d, %d weights, user %.2f s (best of %d)\n",
            basename(folds), res$best, length(w), best_t, reps))

# Writes tests/data/enet/r_rng_reference.tsv: draws of R's default generator (Mersenne-Twister,
# set.seed scrambling, R >= 3.6 "Rejection" sample()) for the RRng unit tests, at full precision.
# Run with R (Debian: apt-get install r-base-core):
#   Rscript scripts/make_r_rng_reference.R > tests/data/enet/r_rng_reference.tsv
# Columns: seed, what was drawn (after set.seed(seed), in this order), values comma-separated.
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
cat(sprintf("# %s, RNGkind %s\n", R.version.string, paste(RNGkind(), collapse = " ")))
cat("seed\tdraw\tvalues\n")
row <- function(seed, what, v, fmt) cat(sprintf("%d\t%s\t%s\n", seed, what, paste(sprintf(fmt, v), collapse = ",")))
for (seed in c(0L, 1L, 42L, 123L, 2024L, 987654L, 2147483647L, -7L)) {
  set.seed(seed)
  row(seed, "runif(25)", runif(25), "%.17g")
  set.seed(seed)
  # fast_elasticnet.R: for (j in 1:3) cv_fold_ids[, j] <- sample(1:10, n, replace = TRUE), two
  # genes in a row (n = 462 and 377): one continuing stream.
  for (n in c(462L, 377L)) for (j in 1:3) row(seed, sprintf("sample(1:10,%d,TRUE)", n), sample(1:10, n, replace = TRUE), "%d")
  set.seed(seed)
  row(seed, "sample(1:50)", sample(1:50), "%d")
  row(seed, "sample(1:1000000,20,TRUE)", sample(1:1000000, 20, replace = TRUE), "%d")
  row(seed, "sample(1:3,40,TRUE)", sample(1:3, 40, replace = TRUE), "%d")
}

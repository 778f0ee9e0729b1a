# Reference fit measures for pipeline.stats.validity.cfa, computed with R's lavaan.
#
# Run from the repository root:  Rscript tests/reference/lavaan/make_reference.R
# Reads (next to this script):
#   cfa_docstring_example.csv  the data of the Examples section of pipeline.stats.validity.cfa (numpy
#                              default_rng(0): two factors, q0-q2 and q3-q5, 400 rows), written by that code
# Writes (next to this script):
#   cfa_close.csv     simulated (set.seed 20261127): two correlated factors x 4 items, n = 250, generated from
#                     the fitted model itself, so chi-square falls below its df (uncapped CFI > 1)
#   cfa_misfit.csv    simulated (set.seed 20261128): three factors x 3 items, n = 500, with a cross-loading and
#                     a correlated residual the fitted simple-structure model leaves out (CFI < 1)
#   cfa.json          lavaan::fitMeasures of each, full precision (jsonlite digits = NA)
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

simulate <- function(n, loadings, phi, resid_sd, extra = NULL) {
  k <- ncol(phi)
  f <- matrix(rnorm(n * k), n, k) %*% chol(phi)
  x <- f %*% t(loadings) + matrix(rnorm(n * nrow(loadings)), n, nrow(loadings)) %*% diag(resid_sd)
  if (!is.null(extra)) x <- extra(x)
  round(x, 6)
}

set.seed(20261127)
lam <- cbind(c(0.8, 0.7, 0.6, 0.75, 0, 0, 0, 0), c(0, 0, 0, 0, 0.7, 0.65, 0.8, 0.6))
close <- simulate(250, lam, matrix(c(1, 0.4, 0.4, 1), 2), rep(0.7, 8))
colnames(close) <- c(sprintf("a%d", 1:4), sprintf("b%d", 1:4))
write.csv(close, file.path(here, "cfa_close.csv"), row.names = FALSE)

set.seed(20261128)
lam3 <- matrix(0, 9, 3)
lam3[1:3, 1] <- c(0.8, 0.7, 0.6); lam3[4:6, 2] <- c(0.7, 0.8, 0.6); lam3[7:9, 3] <- c(0.6, 0.7, 0.8)
lam3[4, 1] <- 0.5  # cross-loading of b1 on A
phi3 <- matrix(c(1, 0.3, 0.2, 0.3, 1, 0.4, 0.2, 0.4, 1), 3)
misfit <- simulate(500, lam3, phi3, rep(0.6, 9), extra = function(x) {
  shared <- rnorm(nrow(x), 0, 0.5)  # correlated residual of c2 and c3
  x[, 8] <- x[, 8] + shared
  x[, 9] <- x[, 9] + shared
  x
})
colnames(misfit) <- c(sprintf("a%d", 1:3), sprintf("b%d", 1:3), sprintf("c%d", 1:3))
write.csv(misfit, file.path(here, "cfa_misfit.csv"), row.names = FALSE)

measures <- c("chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "rmsea",
              "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
fit_measures <- function(model, data) {
  fit <- cfa(model, data = data, estimator = "ML", std.lv = TRUE)
  c(list(model = model, call = "lavaan::cfa(model, data, estimator = 'ML', std.lv = TRUE)"),
    as.list(fitMeasures(fit, measures)))
}
docstring <- read.csv(file.path(here, "cfa_docstring_example.csv"))
ref <- list(
  meta = list(lavaan_version = as.character(packageVersion("lavaan")), R_version = R.version.string),
  docstring_example = fit_measures("A =~ q0 + q1 + q2\nB =~ q3 + q4 + q5", docstring),
  close = fit_measures("A =~ a1 + a2 + a3 + a4\nB =~ b1 + b2 + b3 + b4", as.data.frame(close)),
  misfit = fit_measures("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nC =~ c1 + c2 + c3", as.data.frame(misfit))
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "cfa.json"))
for (name in c("docstring_example", "close", "misfit")) {
  r <- ref[[name]]
  cat(sprintf("%-18s chisq %.4f df %d baseline %.2f/%d cfi %.6f tli %.6f\n", name, r$chisq, as.integer(r$df),
              r$baseline.chisq, as.integer(r$baseline.df), r$cfi, r$tli))
}

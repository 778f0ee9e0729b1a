# Reference numbers for the weighted frequency tables of 06_describe (pipeline.stats.frequencies).
#
# Run from the repository root:  Rscript tests/reference/survey/make_frequency_reference.R
# Writes (next to this script): frequency_data.csv (the simulated sample, set.seed 20261201) and
# frequency.json, full precision (jsonlite digits = NA).
#
# Sample: 400 respondents, 4 districts, gender, 2 strata with unequal base weights w0; y an ordered 1-5 answer
# (about 10% missing: skipped or unanswered), q a nominal 1-3 answer related to district. Designs:
#   s  stratified, unequal weights      svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = d)
#   r  s raked on district and gender   calibrate(s, ~district + gender, population, calfun = "raking")
# For each: the share of every level of y among valid answers, whole sample and by district,
#   svymean(~factor(y), subset(design, y0 > 0))                      estimate and SE
#   svyciprop(~I(y == k), subset(design, y0 > 0), method = "logit" | "beta")
#   svyby(~I(y == k), ~district, subset(design, y0 > 0), svyciprop, vartype = "ci", method = ...)
# and svychisq(~district + y, design, statistic = "F") (na.rm = TRUE) (Rao-Scott second order), plus
# the weighted table's Pearson X2 scaled to n (svytable(..., Ntotal = n)) for Cramer's V.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

set.seed(20261201)
n <- 400
district <- sample(c("d1", "d2", "d3", "d4"), n, replace = TRUE, prob = c(0.4, 0.3, 0.2, 0.1))
gender <- sample(c("F", "M"), n, replace = TRUE)
stratum <- ifelse(runif(n) < 0.6, "urban", "rural")
w0 <- ifelse(stratum == "urban", 120, 260) * runif(n, 0.8, 1.25)
latent <- rnorm(n) + 0.5 * (district == "d1") - 0.4 * (district == "d4")
y <- as.integer(cut(latent, c(-Inf, -1.2, -0.4, 0.4, 1.2, Inf)))
y[runif(n) < 0.1] <- NA
q <- ifelse(runif(n) < 0.5 + 0.1 * (district == "d2"), 1L, sample(2:3, n, replace = TRUE))
d <- data.frame(id = seq_len(n), district, gender, stratum, w0, y, q)
d$y0 <- ifelse(is.na(d$y), 0L, d$y)  # 0 = no valid answer: a calibrated design's subset keeps those rows

des_s <- svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = d)
totals <- c(`(Intercept)` = 50000, districtd2 = 14000, districtd3 = 11000, districtd4 = 7000, genderM = 24500)
des_r <- calibrate(des_s, ~district + gender, population = totals, calfun = "raking", epsilon = 1e-13, maxit = 500)
d$w_r <- as.numeric(weights(des_r))
write.csv(d, file.path(here, "frequency_data.csv"), row.names = FALSE, na = "")

full <- function(x) unname(as.numeric(x))
levels_y <- 1:5
one_design <- function(des) {
  valid <- subset(des, y0 > 0)
  m <- svymean(~factor(y0), valid)
  out <- list(levels = levels_y, svymean = list(estimate = full(coef(m)), se = full(SE(m))))
  for (method in c("logit", "beta")) {
    whole <- lapply(levels_y, function(k) {
      ci <- svyciprop(as.formula(paste0("~I(y0 == ", k, ")")), valid, method = method)
      list(estimate = full(coef(ci)), se = full(SE(ci)), ci_low = full(confint(ci))[1], ci_high = full(confint(ci))[2])
    })
    by_district <- lapply(levels_y, function(k) {
      b <- svyby(as.formula(paste0("~I(y0 == ", k, ")")), ~district, valid, svyciprop, vartype = c("se", "ci"),
                 method = method)
      list(district = as.character(b$district), estimate = full(coef(b)), se = full(SE(b)),
           ci_low = full(b$ci_l), ci_high = full(b$ci_u))
    })
    out[[method]] <- list(whole = whole, by_district = by_district)
  }
  chi <- svychisq(~district + y, des, statistic = "F")  # na.rm = TRUE: rows without y left out
  tab <- svytable(~district + y, valid, Ntotal = nrow(valid))
  out$chisq <- list(statistic = full(chi$statistic), ndf = full(chi$parameter[1]), ddf = full(chi$parameter[2]),
                    p = full(chi$p.value), pearson = full(summary(tab, statistic = "Chisq")$statistic$statistic),
                    n = nrow(valid))
  out
}
ref <- list(meta = list(survey_version = as.character(packageVersion("survey")), R_version = R.version.string,
                        call = "svymean(~factor(y)); svyciprop(method = logit|beta); svyby(svyciprop); svychisq(statistic = 'F')"),
            s = one_design(des_s), r = one_design(des_r))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "frequency.json"))
cat("wrote frequency.json\n")

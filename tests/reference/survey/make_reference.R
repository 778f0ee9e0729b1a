# Reference numbers for pipeline.stats.weighting / pipeline.stats.design, computed with R's survey package.
#
# Run from the repository root:  Rscript tests/reference/survey/make_reference.R
# Writes (next to this script):
#   sample.csv     the simulated sample (one row per respondent) plus reference weights
#   population.csv population margins (counts) used for raking / calibration
#   reference.json every estimate below, full precision (jsonlite digits = NA)
#
# Designs:
#   a  equal weights, no strata               svydesign(ids = ~1, data = s)
#   b  raked from equal base weights          calibrate(a, ~district + gender + age_group, calfun = "raking")
#   c  stratified, unequal base weights       svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = s)
#   d  c raked on district x gender and age   calibrate(c, ~interaction(district, gender) + age_group, calfun = "raking")
#   e  c with a finite population correction svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = s)
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

set.seed(20261126)
N <- 200000L
districts <- sprintf("d%02d", 1:8)
ages <- c("18-29", "30-39", "40-49", "50-59", "60+")
pop <- data.frame(
  district = sample(districts, N, replace = TRUE, prob = c(20, 16, 14, 12, 11, 10, 9, 8)),
  gender = sample(c("F", "M"), N, replace = TRUE),
  age_group = sample(ages, N, replace = TRUE, prob = c(18, 20, 22, 21, 19)),
  stringsAsFactors = FALSE
)
p_urban <- setNames(c(0.9, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.2), districts)
pop$stratum <- ifelse(runif(N) < p_urban[pop$district], "urban", "rural")
N_h <- table(pop$stratum)
n_h <- c(rural = 300L, urban = 500L)
idx <- c(sample(which(pop$stratum == "rural"), n_h[["rural"]]), sample(which(pop$stratum == "urban"), n_h[["urban"]]))
s <- pop[idx, ]
# distort the sample composition a little so that raking has work to do
keep <- !(s$age_group == "18-29" & runif(nrow(s)) < 0.35)
s <- s[keep, ]
rownames(s) <- NULL
s$id <- seq_len(nrow(s))
s$N_h <- as.numeric(N_h[s$stratum])
s$w0 <- as.numeric(N_h[s$stratum]) / as.numeric(table(s$stratum)[s$stratum])
n <- nrow(s)
d_eff <- setNames(seq(-6, 8, length.out = 8), districts)
a_eff <- setNames(c(-3, -1, 0, 2, 4), ages)
s$scale_a <- 65 + d_eff[s$district] + a_eff[s$age_group] + ifelse(s$gender == "F", 1.5, 0) + rnorm(n, 0, 12)
s$aware <- rbinom(n, 1, plogis(-0.4 + 0.15 * (seq_along(districts))[match(s$district, districts)] +
                                 0.02 * a_eff[s$age_group]))
s$scale_a[sample(n, 25)] <- NA
s$aware[sample(n, 20)] <- NA

pop_district <- table(pop$district)
pop_gender <- table(pop$gender)
pop_age <- table(pop$age_group)
pop_dg <- table(pop$district, pop$gender)

des_a <- svydesign(ids = ~1, weights = ~one, data = transform(s, one = 1))
f_main <- ~district + gender + age_group
tot_main <- colSums(model.matrix(f_main, pop))
des_b <- calibrate(des_a, f_main, population = tot_main, calfun = "raking", epsilon = 1e-13, maxit = 500)
des_b_rake <- rake(des_a, list(~district, ~gender, ~age_group),
                   list(as.data.frame(pop_district, responseName = "Freq") |> setNames(c("district", "Freq")),
                        as.data.frame(pop_gender) |> setNames(c("gender", "Freq")),
                        as.data.frame(pop_age) |> setNames(c("age_group", "Freq"))),
                   control = list(maxit = 500, epsilon = 1e-14))
des_c <- svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = s)
f_int <- ~interaction(district, gender) + age_group
tot_int <- colSums(model.matrix(f_int, pop))
des_d <- calibrate(des_c, f_int, population = tot_int, calfun = "raking", epsilon = 1e-13, maxit = 500)
des_e <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = s)

s$w_b <- weights(des_b)
s$w_b_rake <- weights(des_b_rake)
s$w_d <- weights(des_d)

full <- function(x) unname(as.numeric(x))

# Covariance of the domain means. svyby(covmat = TRUE) fails with na.rm = TRUE in survey 4.1.1 ("number of
# items to replace is not a multiple of replacement length"), so the domain means are written as ratios
# sum(w y 1[domain, observed]) / sum(w 1[domain, observed]) and svyratio(covmat = TRUE) gives their covariance.
domain_vcov <- function(des, groups) {
  v <- des$variables
  ok <- !is.na(v$scale_a)
  num <- sprintf("y_%s", groups)
  den <- sprintf("d_%s", groups)
  extra <- list()
  for (i in seq_along(groups)) {
    inside <- ok & v$district == groups[i]
    extra[[num[i]]] <- ifelse(inside, v$scale_a, 0)
    extra[[den[i]]] <- as.numeric(inside)
  }
  des2 <- des
  des2$variables <- cbind(v, as.data.frame(extra))
  r <- svyratio(make.formula(num), make.formula(den), des2, covmat = TRUE)
  keep <- paste(num, den, sep = "/")
  V <- vcov(r)[keep, keep]
  full(t(V))  # row-major
}

estimates <- function(des) {
  out <- list()
  m <- svymean(~scale_a, des, na.rm = TRUE)
  ci <- confint(m)
  out$mean <- list(estimate = full(coef(m)), se = full(SE(m)), ci_low = full(ci[1]), ci_high = full(ci[2]))
  b <- svyby(~scale_a, ~district, des, svymean, na.rm = TRUE)
  bci <- confint(b)
  out$mean_by_district <- list(group = as.character(b$district), estimate = full(coef(b)), se = full(SE(b)),
                               ci_low = full(bci[, 1]), ci_high = full(bci[, 2]),
                               vcov = domain_vcov(des, as.character(b$district)))
  for (method in c("logit", "beta")) {
    p <- svyciprop(~I(aware == 1), des, method = method, na.rm = TRUE)
    pb <- svyby(~I(aware == 1), ~district, des, svyciprop, method = method, vartype = c("se", "ci"), na.rm = TRUE)
    out[[paste0("prop_", method)]] <- list(estimate = full(p), se = full(sqrt(attr(p, "var"))),
                                           ci_low = full(attr(p, "ci")[1]), ci_high = full(attr(p, "ci")[2]))
    out[[paste0("prop_", method, "_by_district")]] <- list(
      group = as.character(pb$district), estimate = full(pb[, 2]), se = full(SE(pb)),
      ci_low = full(pb$ci_l), ci_high = full(pb$ci_u))
  }
  chi <- svychisq(~aware + district, des, statistic = "F")
  out$chisq <- list(statistic = full(chi$statistic), ndf = full(chi$parameter[1]), ddf = full(chi$parameter[2]),
                    p = full(chi$p.value))
  tt <- svyttest(scale_a ~ gender, des)
  out$ttest <- list(statistic = full(tt$statistic), df = full(tt$parameter), p = full(tt$p.value),
                    estimate = full(tt$estimate), ci_low = full(tt$conf.int[1]), ci_high = full(tt$conf.int[2]))
  g <- svyglm(scale_a ~ district + gender, des)
  gci <- confint(g)
  out$glm <- list(term = names(coef(g)), estimate = full(coef(g)), se = full(SE(g)), df = full(g$df.residual),
                  ci_low = full(gci[, 1]), ci_high = full(gci[, 2]),
                  p = full(summary(g)$coefficients[, 4]))
  out$degf <- degf(des)
  out
}

ref <- list(
  meta = list(survey_version = as.character(packageVersion("survey")), R_version = R.version.string, n = n,
              seed = 20261126),
  a = estimates(des_a),
  b = estimates(des_b),
  c = estimates(des_c),
  d = estimates(des_d),
  e = list(mean = {
    m <- svymean(~scale_a, des_e, na.rm = TRUE)
    list(estimate = full(coef(m)), se = full(SE(m)))
  }),
  # survey::rake() linearises with 10 rounds of alternating projections, not the exact WLS projection
  # that calibrate() uses; stored so that the (small) difference is documented, not tested at 1e-6.
  b_rake_fn = list(mean = {
    m <- svymean(~scale_a, des_b_rake, na.rm = TRUE)
    list(estimate = full(coef(m)), se = full(SE(m)))
  })
)

fmt <- function(x) if (is.numeric(x)) sprintf("%.17g", x) else x
out_s <- s
for (col in names(out_s)) out_s[[col]] <- ifelse(is.na(out_s[[col]]), NA, fmt(out_s[[col]]))
write.csv(out_s, file.path(here, "sample.csv"), row.names = FALSE, na = "")
margins <- rbind(
  data.frame(variable = "district", category = names(pop_district), category2 = "", target = as.numeric(pop_district)),
  data.frame(variable = "gender", category = names(pop_gender), category2 = "", target = as.numeric(pop_gender)),
  data.frame(variable = "age_group", category = names(pop_age), category2 = "", target = as.numeric(pop_age)),
  data.frame(variable = "district:gender", category = rep(rownames(pop_dg), 2),
             category2 = rep(colnames(pop_dg), each = nrow(pop_dg)), target = as.numeric(pop_dg))
)
write.csv(margins, file.path(here, "population.csv"), row.names = FALSE)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference.json"))
cat("wrote reference for n =", n, "\n")

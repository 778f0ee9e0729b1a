# Reference numbers for SurveyDesign.regress_logistic: survey's svyglm(family = quasibinomial()).
#
# Run from the repository root:  Rscript tests/reference/survey/make_logistic_reference.R
# Reads (next to this script): sample.csv and population.csv, written by make_reference.R.
# Writes (next to this script): logistic.json, full precision (jsonlite digits = NA).
#
# Designs, rebuilt from the stored sample exactly as make_reference.R builds them:
#   a  equal weights, no strata               svydesign(ids = ~1, data = s)
#   b  raked from equal base weights          calibrate(a, ~district + gender + age_group, calfun = "raking")
#   c  stratified, unequal base weights       svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = s)
#   d  c raked on district x gender and age   calibrate(c, ~interaction(district, gender) + age_group, calfun = "raking")
# (the rebuilt calibrated weights are checked against the stored w_b / w_d). Models, binary outcome aware (20
# missing values) with categorical and continuous controls (scale_a: 25 missing values, other rows):
#   m1  aware ~ district + gender + age_group
#   m2  aware ~ scale_a + gender
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

s <- read.csv(file.path(here, "sample.csv"), colClasses = c(district = "character", gender = "character",
                                                              age_group = "character", stratum = "character"))
pop <- read.csv(file.path(here, "population.csv"), colClasses = "character")
pop$target <- as.numeric(pop$target)
target <- function(variable, category, category2 = "") {
  pop$target[pop$variable == variable & pop$category == category & pop$category2 == category2]
}
N <- sum(pop$target[pop$variable == "district"])
districts <- sort(unique(s$district))
ages <- sort(unique(s$age_group))

des_a <- svydesign(ids = ~1, weights = ~one, data = transform(s, one = 1))
tot_main <- c(`(Intercept)` = N,
              setNames(sapply(districts[-1], function(d) target("district", d)), paste0("district", districts[-1])),
              genderM = target("gender", "M"),
              setNames(sapply(ages[-1], function(a) target("age_group", a)), paste0("age_group", ages[-1])))
des_b <- calibrate(des_a, ~district + gender + age_group, population = tot_main, calfun = "raking",
                   epsilon = 1e-13, maxit = 500)
des_c <- svydesign(ids = ~1, strata = ~stratum, weights = ~w0, data = s)
cells <- expand.grid(district = districts, gender = c("F", "M"), stringsAsFactors = FALSE)  # interaction order
int_names <- paste0("interaction(district, gender)", cells$district, ".", cells$gender)
tot_int <- c(`(Intercept)` = N,
             setNames(mapply(function(d, g) target("district:gender", d, g), cells$district, cells$gender)[-1],
                      int_names[-1]),
             setNames(sapply(ages[-1], function(a) target("age_group", a)), paste0("age_group", ages[-1])))
des_d <- calibrate(des_c, ~interaction(district, gender) + age_group, population = tot_int, calfun = "raking",
                   epsilon = 1e-13, maxit = 500)
stopifnot(max(abs(as.numeric(weights(des_b)) / s$w_b - 1)) < 1e-10,
          max(abs(as.numeric(weights(des_d)) / s$w_d - 1)) < 1e-10)

full <- function(x) unname(as.numeric(x))
fit <- function(formula, des) {
  g <- svyglm(formula, des, family = quasibinomial())
  co <- summary(g)$coefficients
  ci <- confint(g)
  list(term = names(coef(g)), estimate = full(coef(g)), se = full(SE(g)), t = full(co[, 3]), p = full(co[, 4]),
       df = full(g$df.residual), ci_low = full(ci[, 1]), ci_high = full(ci[, 2]),
       odds_ratio = full(exp(coef(g))), odds_ratio_ci_low = full(exp(ci[, 1])),
       odds_ratio_ci_high = full(exp(ci[, 2])), n = length(g$y), converged = g$converged, iter = g$iter)
}
models <- list(m1 = aware ~ district + gender + age_group, m2 = aware ~ scale_a + gender)
designs <- list(a = des_a, b = des_b, c = des_c, d = des_d)
ref <- list(meta = list(survey_version = as.character(packageVersion("survey")), R_version = R.version.string,
                        call = "svyglm(formula, design, family = quasibinomial()); confint(); exp()"))
for (d in names(designs)) {
  ref[[d]] <- lapply(models, fit, des = designs[[d]])
}
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "logistic.json"))
cat("wrote logistic.json\n")

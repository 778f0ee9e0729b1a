# Reference numbers for pipeline/stats/comparisons.py, effect_sizes.py and multiplicity.py.
#
# Run from the repository root:  Rscript tests/reference/compare/make_reference.R
# Writes (next to this script):
#   compare_data.csv   simulated respondents (set.seed below): district, unit, unit_type, stratum, w, y, likert, cat3, bin
#   fisher_data.csv    a small 2x2 sample where an expected count is < 5
#   reference.json     every statistic the Python tests compare with (jsonlite, 15 significant digits)
# Sources: base R stats (oneway.test, kruskal.test, chisq.test, fisher.test, wilcox.test, t.test, p.adjust,
# ptukey/qtukey), survey (svyglm, svycontrast, regTermTest, svyby). Effect-size CIs are computed here by
# inverting the noncentral F / t / chi-square distributions with uniroot (effectsize's method; the package is
# not installed), independently of the Python code.
suppressPackageStartupMessages({library(jsonlite); library(survey)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

set.seed(20261126)
groups <- paste0("D", 1:6)
ng <- c(15, 35, 50, 70, 45, 25)
mu <- c(70, 72, 68, 75, 71, 66)
sdv <- c(6, 10, 12, 8, 15, 9)
district <- rep(groups, ng)
n <- length(district)
gi <- match(district, groups)
y <- rnorm(n, mu[gi], sdv[gi])
likert <- sapply(gi, function(g) sample(1:5, 1, prob = c(1, 2, 3, 3 + g / 2, 2 + g / 3)))
cat3 <- sapply(gi, function(g) sample(c("high", "mid", "low"), 1, prob = c(2 + g / 2, 3, 2)))
bin <- rbinom(n, 1, 0.4 + 0.05 * (gi %% 3))
units <- sprintf("U%02d", 1:12)
unit <- sample(units, n, replace = TRUE)
unit_type <- c(rep("city", 4), rep("county", 4), rep("town", 4))[match(unit, units)]
y <- y + 3 * (unit == "U03") - 4 * (unit == "U07")
w <- round(runif(n, 0.5, 3), 6)
dat <- data.frame(id = 1:n, district, unit, unit_type, stratum = district, w, y = round(y, 6),
                  likert, cat3, bin, stringsAsFactors = FALSE)
write.csv(dat, file.path(here, "compare_data.csv"), row.names = FALSE)
dat <- read.csv(file.path(here, "compare_data.csv"), stringsAsFactors = FALSE)
dat$district <- factor(dat$district, levels = groups)

fd <- data.frame(x = c(rep("a", 8), rep("b", 10)), y = c(rep("yes", 6), rep("no", 2), rep("yes", 2), rep("no", 8)))
write.csv(fd, file.path(here, "fisher_data.csv"), row.names = FALSE)

out <- list()
conf <- 0.95

# --- Welch ANOVA, classical omega^2 with noncentral-F CI -----------------------------------------------
ow <- oneway.test(y ~ district, data = dat, var.equal = FALSE)
fit <- aov(y ~ district, data = dat)
tab <- summary(fit)[[1]]
ssb <- tab[1, "Sum Sq"]; ssw <- tab[2, "Sum Sq"]; dfb <- tab[1, "Df"]; dfw <- tab[2, "Df"]
msw <- ssw / dfw
omega2 <- (ssb - dfb * msw) / (ssb + ssw + msw)
fclass <- tab[1, "F value"]
ncp_bound <- function(p_target, fobs, df1, df2) {
  f <- function(l) pf(fobs, df1, df2, ncp = l) - p_target
  if (f(0) < 0) return(0)
  uniroot(f, c(0, 1e4), tol = 1e-12)$root
}
lo <- ncp_bound(1 - (1 - conf) / 2, fclass, dfb, dfw)
hi <- ncp_bound((1 - conf) / 2, fclass, dfb, dfw)
out$welch_anova <- list(statistic = unname(ow$statistic), df1 = unname(ow$parameter[1]),
                        df2 = unname(ow$parameter[2]), pvalue = ow$p.value,
                        omega2 = omega2, omega2_ci = c(lo / (lo + n), hi / (hi + n)),
                        anova_f = fclass, n = n)

# --- Kruskal-Wallis and epsilon^2 = H / ((n^2 - 1) / (n + 1)) ------------------------------------------
kw <- kruskal.test(y ~ district, data = dat)
kwl <- kruskal.test(likert ~ district, data = dat)
out$kruskal <- list(statistic = unname(kw$statistic), df = unname(kw$parameter), pvalue = kw$p.value,
                    epsilon2 = unname(kw$statistic) / ((n^2 - 1) / (n + 1)))
out$kruskal_likert <- list(statistic = unname(kwl$statistic), df = unname(kwl$parameter),
                           pvalue = kwl$p.value, epsilon2 = unname(kwl$statistic) / ((n^2 - 1) / (n + 1)))

# --- Games-Howell from its formula (ptukey / qtukey) ----------------------------------------------------
m <- tapply(dat$y, dat$district, mean); v <- tapply(dat$y, dat$district, var); nn <- tapply(dat$y, dat$district, length)
k <- length(groups)
gh <- list()
for (i in 1:(k - 1)) for (j in (i + 1):k) {
  vi <- v[i] / nn[i]; vj <- v[j] / nn[j]
  se <- sqrt(vi + vj); d <- m[i] - m[j]; t <- d / se
  df <- (vi + vj)^2 / (vi^2 / (nn[i] - 1) + vj^2 / (nn[j] - 1))
  # qtukey is only accurate to ~4 decimals (see ?qtukey); solve ptukey(q) = conf precisely instead
  q <- uniroot(function(q) ptukey(q, k, df) - conf, c(0.5, 50), tol = 1e-13)$root / sqrt(2)
  gh[[length(gh) + 1]] <- list(A = groups[i], B = groups[j], diff = unname(d), se = unname(se),
                               t = unname(t), df = unname(df),
                               p = ptukey(sqrt(2) * abs(unname(t)), k, unname(df), lower.tail = FALSE),
                               ci_low = unname(d - q * se), ci_high = unname(d + q * se))
}
out$games_howell <- gh

# --- Chi-square (Pearson, with and without Yates), Fisher, Cramer's V with noncentral chi2 CI -------------
tb <- table(dat$district, dat$cat3)
cs <- chisq.test(tb, correct = FALSE)
kmin <- min(dim(tb)) - 1
chi_ncp <- function(p_target, x, df) {
  f <- function(l) pchisq(x, df, ncp = l) - p_target
  if (f(0) < 0) return(0)
  uniroot(f, c(0, 1e4), tol = 1e-12)$root
}
cl <- chi_ncp(1 - (1 - conf) / 2, unname(cs$statistic), unname(cs$parameter))
ch <- chi_ncp((1 - conf) / 2, unname(cs$statistic), unname(cs$parameter))
out$chi2 <- list(statistic = unname(cs$statistic), df = unname(cs$parameter), pvalue = cs$p.value,
                 cramers_v = sqrt(unname(cs$statistic) / (n * kmin)),
                 cramers_v_ci = sqrt(c(cl, ch) / (n * kmin)), n = n)
tb2 <- table(dat$bin, dat$cat3 == "high")
c2f <- chisq.test(tb2, correct = FALSE); c2t <- chisq.test(tb2)
out$chi2_2x2 <- list(statistic = unname(c2f$statistic), pvalue = c2f$p.value,
                     statistic_yates = unname(c2t$statistic), pvalue_yates = c2t$p.value)
ft <- table(fd$x, fd$y)
fe <- fisher.test(ft)
out$fisher <- list(pvalue = fe$p.value, odds_ratio_cond_mle = unname(fe$estimate),
                   min_expected = min(suppressWarnings(chisq.test(ft))$expected))

# --- Mann-Whitney (normal approximation with continuity correction) and Welch t, Hedges' g -----------------
x1 <- dat$y[dat$district == "D2"]; x2 <- dat$y[dat$district == "D4"]
wt <- wilcox.test(x1, x2, exact = FALSE, correct = TRUE)
l1 <- dat$likert[dat$district == "D2"]; l2 <- dat$likert[dat$district == "D4"]
wtl <- wilcox.test(l1, l2, exact = FALSE, correct = TRUE)
out$mann_whitney <- list(statistic = unname(wt$statistic), pvalue = wt$p.value)
out$mann_whitney_likert <- list(statistic = unname(wtl$statistic), pvalue = wtl$p.value)

hedges <- function(a, b) {
  n1 <- length(a); n2 <- length(b); df <- n1 + n2 - 2
  sp <- sqrt(((n1 - 1) * var(a) + (n2 - 1) * var(b)) / df)
  d <- (mean(a) - mean(b)) / sp
  J <- exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))
  s <- sqrt(1 / n1 + 1 / n2); tobs <- d / s
  f <- function(ncp, p) pt(tobs, df, ncp = ncp) - p
  lo <- uniroot(f, c(tobs - 15, tobs + 15), p = 1 - (1 - conf) / 2, tol = 1e-12)$root
  hi <- uniroot(f, c(tobs - 15, tobs + 15), p = (1 - conf) / 2, tol = 1e-12)$root
  list(g = J * d, ci = J * c(lo, hi) * s, d = d, J = J)
}
tt <- t.test(x1, x2, var.equal = FALSE)
hg <- hedges(x1, x2)
out$welch_ttest <- list(statistic = unname(tt$statistic), df = unname(tt$parameter), pvalue = tt$p.value,
                        difference = unname(tt$estimate[1] - tt$estimate[2]), se = unname(tt$stderr),
                        ci = unname(as.numeric(tt$conf.int)), hedges_g = hg$g, hedges_g_ci = hg$ci)

# --- unit vs rest of its peer group (Welch t) + Holm / BH over the units ---------------------------------
uvr <- list()
for (u in units) {
  ty <- unique(dat$unit_type[dat$unit == u])
  a <- dat$y[dat$unit == u]; b <- dat$y[dat$unit_type == ty & dat$unit != u]
  t1 <- t.test(a, b, var.equal = FALSE); h1 <- hedges(a, b)
  uvr[[u]] <- list(unit = u, peer = ty, n_unit = length(a), n_rest = length(b),
                   difference = unname(t1$estimate[1] - t1$estimate[2]), se = unname(t1$stderr),
                   t = unname(t1$statistic), df = unname(t1$parameter), p = t1$p.value,
                   ci_low = t1$conf.int[1], ci_high = t1$conf.int[2], g = h1$g,
                   g_ci_low = h1$ci[1], g_ci_high = h1$ci[2])
}
pu <- sapply(uvr, function(r) r$p)
for (i in seq_along(uvr)) {
  uvr[[i]]$p_holm <- p.adjust(pu, "holm")[i]; uvr[[i]]$p_bh <- p.adjust(pu, "BH")[i]
}
out$unit_vs_rest <- unname(uvr)
# everyone else (no peer group) for U03
a <- dat$y[dat$unit == "U03"]; b <- dat$y[dat$unit != "U03"]; t1 <- t.test(a, b, var.equal = FALSE)
out$unit_vs_all_U03 <- list(difference = unname(t1$estimate[1] - t1$estimate[2]), t = unname(t1$statistic),
                            df = unname(t1$parameter), p = t1$p.value)

# --- p.adjust on a fixed vector (ties, NA-free) ------------------------------------------------------------
pv <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9, 0.0001)
out$p_adjust <- list(p = pv, holm = p.adjust(pv, "holm"), BH = p.adjust(pv, "BH"))

# --- design-based: domain means, pairwise svycontrast, regTermTest Wald F --------------------------------
des <- svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = dat)
dm <- svyglm(y ~ 0 + district, design = des)
byd <- svyby(~y, ~district, des, svymean, covmat = TRUE)
ctr <- list()
for (i in 1:(k - 1)) for (j in (i + 1):k) {
  cc <- rep(0, k); cc[i] <- 1; cc[j] <- -1; names(cc) <- names(coef(dm))
  sc <- svycontrast(dm, cc)
  ctr[[length(ctr) + 1]] <- list(A = groups[i], B = groups[j], estimate = unname(coef(sc)),
                                 se = unname(sqrt(diag(vcov(sc)))))
}
rt <- regTermTest(svyglm(y ~ district, design = des), ~district)
neff <- tapply(dat$w, dat$district, function(x) sum(x)^2 / sum(x^2))
out$survey <- list(
  domains = groups, means = unname(coef(dm)), vcov = unname(vcov(dm)),
  means_svyby = unname(coef(byd)), vcov_svyby = unname(vcov(byd)),
  degf = degf(des), model_df_residual = dm$df.residual,
  n = unname(as.numeric(nn)), n_eff = unname(as.numeric(neff)), contrasts = ctr,
  wald = list(F = unname(as.numeric(rt$Ftest)), df1 = unname(rt$df), df2 = unname(rt$ddf), p = unname(as.numeric(rt$p)))
)
# unit vs rest of its peer group, design-based: domain = unit / rest / (outside the peer group, kept for variance)
uw <- list()
for (u in units) {
  ty <- unique(dat$unit_type[dat$unit == u])
  dd <- update(des, dom = factor(ifelse(unit == u, "unit", ifelse(unit_type == ty, "rest", "out")),
                                 levels = c("unit", "rest", "out")))
  bb <- svyby(~y, ~dom, dd, svymean, covmat = TRUE)
  sc <- svycontrast(bb, c(unit = 1, rest = -1, out = 0))
  uw[[u]] <- list(unit = u, estimate = unname(coef(sc)), se = unname(sqrt(diag(vcov(sc)))),
                  means = unname(coef(bb)), vcov = unname(vcov(bb)))
}
out$survey_unit_vs_rest <- unname(uw)
# design-based categorical: Rao-Scott F and domain proportions of cat3 == "high"
rs <- svychisq(~district + cat3, des, statistic = "F")
ph <- svyby(~high, ~district, update(des, high = as.numeric(cat3 == "high")), svymean)
out$survey_categorical <- list(F = unname(rs$statistic), ndf = unname(rs$parameter[1]),
                               ddf = unname(rs$parameter[2]), p = unname(rs$p.value),
                               high_share = unname(coef(ph)), high_share_se = unname(SE(ph)))
out$session <- list(R = R.version.string, survey = as.character(packageVersion("survey")),
                    jsonlite = as.character(packageVersion("jsonlite")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference.json"))
cat("wrote", file.path(here, "reference.json"), "\n")


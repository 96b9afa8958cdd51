# `cmake --install` and the .deb (CPack): what an operator needs on a host,
# in the GNU layout under the prefix (docs/OPERATIONS.md "Install"):
#   bin/alliance
#   lib/alliance/liballiance-civetweb-{ssl,crypto}.so   (HTTPS, src/http)
#   share/alliance/{schemas,topologies,grafana,prometheus}/
#   share/doc/alliance/           README and docs
#   lib/systemd/system/alliance.service   (ExecStart: <prefix>/bin/alliance)
# The binary reads nothing from the source or build tree at run time (the
# dashboard's page and uPlot are embedded at build time).
include(GNUInstallDirs)

install(TARGETS alliance RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The OpenSSL shims civetweb needs for HTTPS (src/http/civetweb_openssl_shim.cc);
# the binary looks for them in <prefix>/lib/alliance.
install(TARGETS alliance_civetweb_ssl alliance_civetweb_crypto LIBRARY DESTINATION lib/alliance)
set(ALLIANCE_SHARE ${CMAKE_INSTALL_DATADIR}/alliance)
install(DIRECTORY schemas/ DESTINATION ${ALLIANCE_SHARE}/schemas FILES_MATCHING PATTERN "*.schema.json")
install(DIRECTORY topologies/ DESTINATION ${ALLIANCE_SHARE}/topologies FILES_MATCHING PATTERN "*.yaml")
install(FILES deploy/grafana/alliance-dashboard.json deploy/grafana/dashboards.yml deploy/grafana/datasource.yml
        DESTINATION ${ALLIANCE_SHARE}/grafana)
install(FILES deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml deploy/prometheus/alerts_test.yml
        DESTINATION ${ALLIANCE_SHARE}/prometheus)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

# The unit names the installed binary, so it is written at install time:
# `--prefix` (and CPack's /usr) are only known then. file(INSTALL) honours
# DESTDIR and the install manifest like install() does.
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(ALLIANCE_BINARY \"\${prefix}/${CMAKE_INSTALL_BINDIR}/alliance\")
  set(ALLIANCE_DATADIR \"\${prefix}/${ALLIANCE_SHARE}\")
  set(ALLIANCE_DOCDIR \"\${prefix}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/deploy/systemd/alliance.service.in\"
                 \"${PROJECT_BINARY_DIR}/install/alliance.service\" @ONLY)
  file(INSTALL DESTINATION \"\${prefix}/lib/systemd/system\" TYPE FILE
       FILES \"${PROJECT_BINARY_DIR}/install/alliance.service\")
")

# --- .deb: cpack -G DEB in the build directory (docs/OPERATIONS.md) --------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME alliance)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "alliance maintainers <dev@alliance.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "attribution and settlement stream processor for alliance marketing (Kafka, RocksDB)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# The Debian 12 packages of the shared libraries the binary links (readelf -d
# NEEDED, dpkg -S): checked by tests/integration/install_test.py.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1, librdkafka1 (>= 2.0), librdkafka++1 (>= 2.0), librocksdb7.8, libsimdjson14, libprometheus-cpp-core1.0, libcivetweb1, libyaml-cpp0.7, libssl3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
